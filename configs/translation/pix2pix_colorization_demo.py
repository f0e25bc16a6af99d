# Runs pix2pix_facades_colorization.py in minutes on a CPU, offline, on real photos: the
# same networks (U-Net 256, 70 x 70 PatchGAN), losses and optimizers, on the real NYU
# colour frames (datasets/nyu_colorization_mini.py: no Facades archive offline), batch 1,
# 8 epochs of 13 iterations (schedules/translation_demo_8e.py), saved after epochs 4 and 8.
# Translations: <work_dir>/<timestamp>/vis_data/vis_image/translation_<name>_<epoch>.png
# (grey input | colourised | real colour).
_base_ = [
    '../_base_/models/pix2pix_unet256.py', '../_base_/datasets/nyu_colorization_mini.py',
    '../_base_/schedules/translation_demo_8e.py', '../_base_/translation_runtime.py'
]
default_hooks = dict(logger=dict(interval=13), checkpoint=dict(interval=4))
randomness = dict(seed=0)
