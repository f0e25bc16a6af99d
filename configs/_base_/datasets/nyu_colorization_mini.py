# Colorization on real photos, offline (the translation demos): grey -> colour pairs made
# from the 13 real NYU Depth v2 colour frames of ../shared/data/raw/nyu_rgb_only for
# training, the 3 held-out real frames of ../shared/data/nyu_mini/images/test for
# validation and test. Whole photos (no label half), preprocessed as
# facades_colorization.py (286 -> random 256 crop and flip; 256 for evaluation), batch 1,
# no worker processes. PSNR only: the FID weights file is not available offline.
__shared = '{{$MMKD_SHARED:{{fileDirname}}/../../../../shared}}'  # MMKD_SHARED=<path> overrides
load_colour = dict(type='LoadTranslationImages', mode='colorization')
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
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='TranslationDataset', data_root=__shared + '/data/raw',
                 split='nyu_rgb_only', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='TranslationDataset', data_root=__shared + '/data/nyu_mini/images',
                 split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='PSNRMetric')
test_evaluator = val_evaluator
