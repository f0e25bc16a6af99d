# Probabilistic knowledge transfer (Passalis & Tefas, ECCV 2018): KL divergence between
# the cosine-similarity distributions of the projected features and their targets;
# inverted projection. Loss weight 1.
_base_ = ['./fitnets_inv.py']

kd_method = dict(loss=dict(type='PKTLoss', loss_weight=1.0))
