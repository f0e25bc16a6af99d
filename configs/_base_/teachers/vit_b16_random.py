# Randomly initialised, frozen teacher (Table 7): the ViT-B/16 of vit_b16_cls.py with no
# pretrained weights, initialised from a fixed seed (reproducible across runs, the
# global RNG is left untouched). Needs no file.
_base_ = ['./vit_b16_cls.py']

kd_teacher = dict(teacher=dict(weights=None), teacher_seed=0)
