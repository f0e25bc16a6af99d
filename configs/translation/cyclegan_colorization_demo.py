# Runs cyclegan_maps.py in minutes on a CPU, offline, on real photos. There is no
# satellite or map imagery offline, so the two unpaired domains are grey and colour
# photos instead (datasets/nyu_colorization_mini.py): domain A = the grey version of one
# of the 13 real NYU Depth v2 frames, domain B = a randomly drawn frame in colour
# (unpaired, as CycleGAN trains). Validation is paired, on the 3 held-out real frames:
# PSNR of G_A(grey) against the real colour frame.
# - the same networks (ResNet 9 blocks, PatchGANs), losses and pools; batch 1, 64 x 64
#   crops (square resize to 72 x 72 as the official 286 -> 256), 8 epochs of 13
#   iterations (schedules/translation_demo_8e.py), saved after epochs 4 and 8.
# Translations: <work_dir>/<timestamp>/vis_data/vis_image/translation_<name>_<epoch>.png
_base_ = [
    '../_base_/models/cyclegan_resnet9.py', '../_base_/datasets/nyu_colorization_mini.py',
    '../_base_/schedules/translation_demo_8e.py', '../_base_/translation_runtime.py'
]
# the inherited pipelines at 64 x 64 (square resize to 72, as the official 286 -> 256),
# A and B of a training sample cropped and flipped independently
train_pipeline = [
    dict(t, load_size=72, crop_size=64, shared=False) if t['type'] == 'TranslationResizeCrop'
    else t for t in _base_.train_pipeline
]
test_pipeline = [dict(t, load_size=64, crop_size=64) if t['type'] == 'TranslationResizeCrop'
                 else t for t in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(paired=False, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=13), checkpoint=dict(interval=4))
randomness = dict(seed=0)
