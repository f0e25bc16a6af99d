# Two ranks (tools/dist_train.sh ... 2): the demo for 3 epochs with a checkpoint after
# each; loss_distill_enc turns NaN on rank 1 only, at iteration 3 (epoch 2, batch 1 of
# 2 with 3 frames per rank).
_base_ = ['./demo_nan_probe.py']

custom_hooks = [dict(type='NaNInjectHook', at_iter=3, loss_type='FitNetsLoss', rank=1)]
