# DeepLabV3-R50-D8 ADE20K student <- randomly initialised, frozen ResNet-50 (the
# architecture of the classification teacher, torchvision's initialisation from a fixed
# seed: reproducible, the global RNG is left untouched; Table 7's setting, for
# segmentation). Needs no weights file.
_base_ = ['./deeplabv3_r50_cls.py']

model = dict(teacher=dict(weights=None), teacher_seed=0)
