# CMP Facades (supplementary 6.6) for colorization: the photos of the official pix2pix
# `facades` archive (400 train, 100 val, 106 test; each file is photo | label map side by
# side, the photo on the left), in grey as the input and in colour as the target.
# Get it: https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz, then
#   python tools/dataset_converters/pix2pix.py facades.tar.gz data/facades
# Preprocessing as the official code: resize to 286 x 286 (bicubic), random 256 crop and
# flip for training; 256 x 256 for evaluation.
data_root = 'data/facades'
load_colour = dict(type='LoadTranslationImages', mode='colorization', half='left')
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
    batch_size=8, num_workers=4, persistent_workers=True,  # batch 8: supplementary 6.7
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='TranslationDataset', data_root=data_root, split='train',
                 pipeline=train_pipeline))
# batch 1 (the official test batch): Pix2Pix predicts with batch statistics
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='TranslationDataset', data_root=data_root, split='val',
                 pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='TranslationDataset', data_root=data_root, split='test',
                 pipeline=test_pipeline))
# Table 10's metrics: PSNR (dB) and FID (pytorch-fid's Inception weights file in
# $TORCH_HOME/hub/checkpoints/ or FIDMetric(weights_path=...); not downloaded)
val_evaluator = [dict(type='PSNRMetric'), dict(type='FIDMetric')]
test_evaluator = val_evaluator
