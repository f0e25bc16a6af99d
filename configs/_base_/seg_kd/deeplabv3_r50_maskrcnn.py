# DeepLabV3-R50-D8 ADE20K student <- MMDet Mask R-CNN R50-FPN COCO instance-segmentation
# teacher (FPN level P3, stride 8 like the student's feature). Same student feature as
# ./deeplabv3_r50_cls.py.
_base_ = ['../../seg/deeplabv3_r50_baseline.py', '../teachers/mmdet_maskrcnn_r50_fpn.py']

model = dict(_delete_=True, type='CrossTaskDistiller', student=_base_.model, **_base_.kd_teacher)
kd_pair = dict(name='enc', student='backbone', student_index=3, **_base_.kd_teacher_feature)
