# Supplementary 6.7 (image-to-image translation): 200 epochs, AdamW with lr 2e-4, constant
# for the first 100 epochs, then decayed linearly to 0 over the next 100; batch 8 (in the
# dataset bases). The decay is the official `lambda` policy, by epoch: epoch e (0-based)
# trains at lr * (1 - (e - 99) / 101) from e = 99, i.e. 1 at epoch 100, 1/101 at epoch
# 200 and 0 just after the last one (MMEngine's LinearLR reaches end_factor at step
# end - begin - 1, hence begin=99, end=201).
# Design choices (the paper is silent): Adam betas (0.5, 0.999), those of the official
# code (--beta1 0.5); weight decay 0.01, torch's AdamW default. One optimizer per network
# group (TranslationOptimWrapperConstructor): 'generators' (the generators and the
# distillation projectors) and 'discriminators'.
lr = 2e-4
optimizer = dict(type='AdamW', lr=lr, betas=(0.5, 0.999), weight_decay=0.01)
optim_wrapper = dict(
    constructor='TranslationOptimWrapperConstructor',
    generators=dict(optimizer=optimizer),
    discriminators=dict(optimizer=optimizer))
max_epochs = 200
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True,
         begin=max_epochs // 2 - 1, end=max_epochs + 1)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
