# Attention transfer (Zagoruyko & Komodakis, ICLR 2017), p = 2, on the projected map and
# its target; inverted projection. Loss weight 1.
_base_ = ['./fitnets_inv.py']

kd_method = dict(loss=dict(type='ATLoss', loss_weight=1.0))
