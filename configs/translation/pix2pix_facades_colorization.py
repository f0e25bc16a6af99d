# Colorization baseline (no teacher): Pix2Pix on CMP Facades, supplementary 6.3.3, 6.4,
# 6.6, 6.7. Every distilled colorization config adds a teacher and one pair to this file.
_base_ = [
    '../_base_/models/pix2pix_unet256.py', '../_base_/datasets/facades_colorization.py',
    '../_base_/schedules/translation_200e.py', '../_base_/translation_runtime.py'
]
