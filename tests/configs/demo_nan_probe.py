# The demo config for 3 epochs with a checkpoint after each, and loss_distill_enc
# turned NaN from iteration 5 on (epoch 2, batch 2 of 3) by tests/nan_probe.py.
_base_ = ['../../configs/depth/mbv2_cls_teacher_inv_demo.py']

custom_imports = dict(imports=['mmkd_invproj', 'tests.nan_probe'], allow_failed_imports=False)
custom_hooks = [dict(type='NaNInjectHook', at_iter=5, loss_type='FitNetsLoss')]
max_epochs = 3
param_scheduler = [
    dict(type='OneCycleLR', eta_max=2e-4, begin=0, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3, save_best=None),
                     logger=dict(interval=1))
