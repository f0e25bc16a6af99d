# Projector ensemble on the student side (Chen et al.'s own setting).
_base_ = ['./ensemble_inv.py']

kd_method = dict(projector=dict(projector=dict(type='TraditionalProjector')))
