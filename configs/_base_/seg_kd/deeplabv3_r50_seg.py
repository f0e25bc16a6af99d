# DeepLabV3-R50-D8 ADE20K student <- torchvision DeepLabV3-ResNet50 trained on COCO with
# the 20 Pascal VOC classes (supplementary 6.3.2, segmentation teacher: the same task
# with another label set). Teacher feature: its backbone's layer4, (B, 2048, H/8, W/8),
# on the student's stride-8 grid as it is. Same student feature as ./deeplabv3_r50_cls.py.
_base_ = ['../../seg/deeplabv3_r50_baseline.py', '../teachers/deeplabv3_r50_coco.py']

model = dict(_delete_=True, type='CrossTaskDistiller', student=_base_.model, **_base_.kd_teacher)
kd_pair = dict(name='enc', student='backbone', student_index=3, **_base_.kd_teacher_feature)
