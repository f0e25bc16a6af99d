# Maps (supplementary 6.6): aerial photo | Google map pairs of the official pix2pix `maps`
# archive (1096 train, 1098 val). Domain A = satellite (left), B = map (right).
# Get it: https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/maps.tar.gz, then
#   python tools/dataset_converters/pix2pix.py maps.tar.gz data/maps
# CycleGAN trains unpaired (the official `unaligned` mode): A and B of a sample come from
# two different images, each with its own crop and flip. Evaluation is paired: G_A(A)
# against the real map of the same image (the archive has no test split: val is both).
data_root = 'data/maps'
train_pipeline = [
    dict(type='LoadTranslationImages', mode='aligned', direction='AtoB'),
    dict(type='TranslationResizeCrop', load_size=286, crop_size=256, flip=True, shared=False),
    dict(type='PackTranslationInputs'),
]
test_pipeline = [
    dict(type='LoadTranslationImages', mode='aligned', direction='AtoB'),
    dict(type='TranslationResizeCrop', load_size=256, crop_size=256, flip=False),
    dict(type='PackTranslationInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=4, persistent_workers=True,  # batch 8: supplementary 6.7
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='TranslationDataset', data_root=data_root, split='train', paired=False,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='TranslationDataset', data_root=data_root, split='val',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type='PSNRMetric'), dict(type='FIDMetric')]
test_evaluator = val_evaluator
