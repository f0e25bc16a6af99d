# Satellite-to-map student (CycleGAN, Maps) <- the teacher of
# ../translation_teachers/keypointrcnn_r50_fpn.py. A (student, teacher) setting: the
# baseline model with the teacher, and `kd_pair`, the feature pair the method bases
# (../distill/*.py, `kd_method`) complete. The student side is the paper's Z_s =
# G_B_E(G_A(x)) (supplementary 6.12; `distill_position='cycle'`: G_B's last residual block,
# recorded in the cycle pass G_B(G_A(x)) only); the teacher sees the real satellite image x.
_base_ = ['../../translation/cyclegan_maps.py', '../translation_teachers/keypointrcnn_r50_fpn.py']

model = dict(distill_position='cycle', **_base_.kd_teacher)
kd_pair = dict(name='enc', **_base_.kd_student_feature['cycle'], **_base_.kd_teacher_feature)
