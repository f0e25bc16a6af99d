# Randomly initialised, frozen teacher (as Table 7 for depth): the ViT-B/16 of
# vit_b16_cls.py without pretrained weights, initialised from a fixed seed. Needs no file.
_base_ = ['./vit_b16_cls.py']

kd_teacher = dict(teacher=dict(model=dict(weights=None), seed=0))
