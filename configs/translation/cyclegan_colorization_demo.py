# Runs cyclegan_maps.py in minutes on a CPU, offline, on real photos. There is no
# satellite or map imagery offline, so the two unpaired domains are grey and colour
# photos instead: domain A = the grey version of one of the 13 real NYU Depth v2 frames of
# ../shared/data/raw/nyu_rgb_only, domain B = another, randomly drawn frame in colour
# (unpaired, as CycleGAN trains). Validation is paired, on the 3 held-out real frames of
# ../shared/data/nyu_mini/images/test: PSNR of G_A(grey) against the real colour frame.
# - the same networks (ResNet 9 blocks, PatchGANs), losses and pools; batch 1, 64 x 64
#   crops (square resize to 72 x 72 as the official 286 -> 256), 8 epochs of 13
#   iterations (4 constant, 4 decaying towards 0, the paper's schedule scaled),
#   validated and saved after epochs 4 and 8;
# - PSNR only (the FID weights file is not available offline).
# Translations: <work_dir>/<timestamp>/vis_data/vis_image/translation_<name>_<epoch>.png
_base_ = ['./cyclegan_maps.py']

shared = '{{$MMKD_SHARED:{{fileDirname}}/../../../shared}}'  # MMKD_SHARED=<path> overrides
load_grey_colour = dict(type='LoadTranslationImages', mode='colorization')
train_pipeline = [
    load_grey_colour,
    dict(type='TranslationResizeCrop', load_size=72, crop_size=64, flip=True, shared=False),
    dict(type='PackTranslationInputs'),
]
test_pipeline = [
    load_grey_colour,
    dict(type='TranslationResizeCrop', load_size=64, crop_size=64, flip=False),
    dict(type='PackTranslationInputs'),
]
train_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=shared + '/data/raw', split='nyu_rgb_only', paired=False,
                 pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=shared + '/data/nyu_mini/images', split='test',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='PSNRMetric')
test_evaluator = val_evaluator

max_epochs = 8
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True,
         begin=max_epochs // 2 - 1, end=max_epochs + 1)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
default_hooks = dict(logger=dict(interval=13), checkpoint=dict(interval=4))
randomness = dict(seed=0)
