# Satellite-to-map baseline (no teacher): CycleGAN on Maps, supplementary 6.3.3, 6.4, 6.6,
# 6.7. Every distilled satellite-to-map config adds a teacher and one pair to this file.
_base_ = [
    '../_base_/models/cyclegan_resnet9.py', '../_base_/datasets/maps_unpaired.py',
    '../_base_/schedules/translation_200e.py', '../_base_/translation_runtime.py'
]
