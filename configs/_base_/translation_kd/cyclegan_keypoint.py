# Satellite-to-map student (CycleGAN, Maps) <- the teacher of ../teachers/keypointrcnn_r50_fpn.py.
# A (student, teacher) setting: the baseline model with the teacher (CrossTaskDistiller's
# keys `teacher`, `teacher_*`; its network normalisation `kd_teacher_norm`, as the GAN
# input is in [-1, 1]), and `kd_pair`, the feature pair the method bases
# (../distill/*.py, `kd_method`) complete. The student side is the paper's
# Z_s = G_B_E(G_A(x)) (supplementary 6.12; `distill_position='cycle'`: G_B's last residual
# block, recorded in the cycle pass G_B(G_A(x)) only); the teacher sees the real x.
_base_ = ['../../translation/cyclegan_maps.py', '../teachers/keypointrcnn_r50_fpn.py']

model = dict(_base_.kd_teacher, distill_position='cycle', **_base_.kd_teacher_norm)
kd_pair = dict(name='enc', **_base_.kd_student_feature['cycle'], **_base_.kd_teacher_feature)
