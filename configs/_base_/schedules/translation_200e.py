# Supplementary 6.7 (image-to-image translation): 200 epochs, AdamW with lr 2e-4, constant
# for the first 100 epochs, then decayed linearly to 0 over the next 100 (by epoch, as the
# official `lambda` policy); batch 8 (in the dataset bases).
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
         begin=max_epochs // 2, end=max_epochs)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
