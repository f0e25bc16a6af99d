# Colorization student (Pix2Pix, CMP Facades) <- the teacher of ../teachers/vit_b16_random.py.
# A (student, teacher) setting: the baseline model with the teacher (CrossTaskDistiller's
# keys `teacher`, `teacher_*`; its network normalisation `kd_teacher_norm`, as the GAN
# input is in [-1, 1]), and `kd_pair`, the feature pair the method bases
# (../distill/*.py, `kd_method`) complete. The student side is the U-Net's encoder output
# (the 1 x 1 x 512 bottleneck, `kd_student_feature` of ../models/pix2pix_unet256.py); the
# teacher sees the real (grey) input x. A colorization config is then
#   _base_ = ['../_base_/translation_kd/pix2pix_<teacher>.py',
#             '../_base_/distill/<method>.py']
#   model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])
_base_ = ['../../translation/pix2pix_facades_colorization.py', '../teachers/vit_b16_random.py']

model = dict(_base_.kd_teacher, **_base_.kd_teacher_norm)
kd_pair = dict(name='enc', **_base_.kd_student_feature, **_base_.kd_teacher_feature)
