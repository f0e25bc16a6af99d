# Randomly initialised, frozen teacher -> depth student, inverted projection (Table 7).
_base_ = ['./mbv2_cls_teacher_inv.py']

model = dict(
    teacher=dict(weights=None),  # same ViT-B/16 architecture, no pretrained weights
    teacher_seed=0)  # fixed initialisation, reproducible across runs
