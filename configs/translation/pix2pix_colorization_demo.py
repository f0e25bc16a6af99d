# Runs pix2pix_facades_colorization.py in minutes on a CPU, offline, on real photos:
# - data: the 13 real NYU Depth v2 colour frames of ../shared/data/raw/nyu_rgb_only for
#   training (grey -> colour pairs made from each), the 3 held-out real frames of
#   ../shared/data/nyu_mini/images/test for validation (no Facades archive offline);
# - the same networks (U-Net 256, 70 x 70 PatchGAN), batch 1, 8 epochs of 13 iterations:
#   4 at the constant rate, 4 decaying linearly towards 0 (the paper's 200-epoch
#   schedule, scaled), validated and saved after epochs 4 and 8;
# - PSNR only (the FID weights file is not available offline).
# Translations: <work_dir>/<timestamp>/vis_data/vis_image/translation_<name>_<epoch>.png
# (grey input | colourised | real colour).
_base_ = ['./pix2pix_facades_colorization.py']

shared = '{{$MMKD_SHARED:{{fileDirname}}/../../../shared}}'  # MMKD_SHARED=<path> overrides
load_colour = dict(type='LoadTranslationImages', mode='colorization')  # whole photos
train_pipeline = [
    load_colour,
    dict(type='TranslationResizeCrop', load_size=286, crop_size=256, flip=True),
    dict(type='PackTranslationInputs'),
]
test_pipeline = [
    load_colour,
    dict(type='TranslationResizeCrop', load_size=256, crop_size=256, flip=False),
    dict(type='PackTranslationInputs'),
]
train_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=shared + '/data/raw', split='nyu_rgb_only',
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
