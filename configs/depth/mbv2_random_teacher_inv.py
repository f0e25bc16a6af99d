# Randomly initialised, frozen teacher -> depth student, inverted projection, FitNets
# (Table 7): the same experiment as mbv2_random_fitnets_inv.py (ViT-B/16 architecture,
# no pretrained weights, fixed seed 0).
_base_ = ['./mbv2_random_fitnets_inv.py']
