# translation_200e.py scaled to a CPU demo: 8 epochs, 4 at the constant rate and 4
# decaying linearly towards 0 (the same policy: begin = max_epochs // 2 - 1,
# end = max_epochs + 1), validated after epochs 4 and 8.
_base_ = ['./translation_200e.py']

max_epochs = 8
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True,
         begin=max_epochs // 2 - 1, end=max_epochs + 1)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
