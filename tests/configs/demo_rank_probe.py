# The demo config for 2 epochs, plus a hook that makes every rank report what it did.
_base_ = ['../../configs/depth/mbv2_cls_teacher_inv_demo.py']

custom_imports = dict(imports=['mmkd_invproj', 'tests.rank_probe'], allow_failed_imports=False)
custom_hooks = [dict(type='RankProbeHook')]
max_epochs = 2
param_scheduler = [
    dict(type='OneCycleLR', eta_max=2e-4, begin=0, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2))
