# Projector ensemble (Chen et al., NeurIPS 2022): three independently initialised
# projectors whose outputs are averaged before the loss; inverted = the ensemble sits
# on the teacher side. Loss: mean squared error (FitNets), weight 1 (design choice:
# the paper does not name the ensemble's loss).
_base_ = ['./fitnets_inv.py']

kd_method = dict(
    projector=dict(_delete_=True, type='EnsembleProjector', num_projectors=3,
                   projector=dict(type='InvertedProjector')))
