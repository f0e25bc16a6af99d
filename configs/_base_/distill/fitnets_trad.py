# FitNets with the traditional projection (P maps the student feature into the teacher's).
_base_ = ['./fitnets_inv.py']

kd_method = dict(projector=dict(type='TraditionalProjector'))
