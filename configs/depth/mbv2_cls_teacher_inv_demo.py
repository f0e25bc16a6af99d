# Runs mbv2_cls_teacher_inv.py in minutes on a CPU, offline, on real data:
# - teacher: torchvision MobileNetV2, ImageNet (the real IMAGENET1K_V1 file in
#   ../shared/weights), a genuine classification -> depth cross-task pair;
# - data: the real RGB-D frames of ../shared/data/nyu_mini (6 train, 3 test);
# - a short schedule (40 epochs of 3 iterations, batch 2) and a smaller crop.
# Everything else is inherited.
_base_ = ['./mbv2_cls_teacher_inv.py']

shared = '{{$MMKD_SHARED:{{fileDirname}}/../../../shared}}'  # MMKD_SHARED=<path> overrides
data_root = shared + '/data/nyu_mini'
crop_size = (224, 288)

model = dict(
    teacher=dict(_delete_=True, type='TorchvisionTeacher', model_name='mobilenet_v2'),
    teacher_ckpt=shared + '/weights/mobilenet_v2-b0353104.pth',
    teacher_input_size=None,  # a CNN takes the student's crop as it is
    distill_pairs=[
        dict(
            name='enc',
            student='backbone', student_index=-1,
            teacher='features.18',  # last 1280-channel map, stride 32
            projector=dict(type='InvertedProjector'),
            loss=dict(type='FitNetsLoss', loss_weight=1.0)),
    ])

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
    dict(type='Resize', scale=(320, 240), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}}),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(320, 240), keep_ratio=True),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# 40 epochs x 3 iterations (about a minute on 2 CPU cores), validated and saved
# every 20 epochs
max_epochs = 40
param_scheduler = [
    dict(type='OneCycleLR', eta_max=2e-4, begin=0, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=20)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=20))
randomness = dict(seed=0)
