# PKT with the traditional projection.
_base_ = ['./pkt_inv.py']

kd_method = dict(projector=dict(type='TraditionalProjector'))
