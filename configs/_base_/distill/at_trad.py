# Attention transfer with the traditional projection.
_base_ = ['./at_inv.py']

kd_method = dict(projector=dict(type='TraditionalProjector'))
