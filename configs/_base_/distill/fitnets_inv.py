# FitNets (Romero et al., ICLR 2015): mean squared error between the projected feature
# and its target; inverted projection (P maps the teacher feature into the student's
# space, Auty et al. BMVC 2024). Loss weight 1 (supplementary 6.4: weighted equally).
# Every method base defines `kd_method`: the projector and loss of a distill pair.
kd_method = dict(
    projector=dict(type='InvertedProjector'),
    loss=dict(type='FitNetsLoss', loss_weight=1.0))
