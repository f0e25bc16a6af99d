# NYUv2 depth in MMSeg's NYUDataset layout (images/{train,test}/*.jpg,
# annotations/{train,test}/*.png: 16-bit depth in millimetres, 0 = invalid).
# Convert the official labeled .mat with tools/dataset_converters/nyu.py.
_base_ = ['mmseg::_base_/datasets/nyu.py']

data_root = 'data/nyu'
crop_size = (480, 480)
meta_keys = ('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),  # mm -> metres
    dict(type='RandomDepthMix', prob=0.25),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2000, 480), keep_ratio=True),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
# supplementary 6.7: batch 16 (one GPU; with N GPUs set batch_size=16 // N)
# epoch-based schedule: MMSeg's NYU base uses an InfiniteSampler, replace it
train_dataloader = dict(
    batch_size=16, num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
# delta_1..3, Abs Rel, Sq Rel, RMS, RMS log (Eigen et al.) on valid pixels <= 10 m
val_evaluator = dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0,
                     crop_type='nyu_crop')
test_evaluator = val_evaluator
