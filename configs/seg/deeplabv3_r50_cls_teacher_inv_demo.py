# Runs deeplabv3_r50_cls_fitnets_inv.py in minutes on a CPU, offline, on real data:
# - teacher: torchvision MobileNetV2, ImageNet (the real IMAGENET1K_V1 file in
#   ../shared/weights): a genuine classification -> segmentation cross-task pair;
# - data: the real ADE20K pairs of ../shared/data/ade_mini (2 training images, 1
#   held-out validation image; 0 = "other", reduce_zero_label=True as in MMSeg);
# - student: MMSeg's DeepLabV3-R50-D8 as inherited, except that its ImageNet
#   initialisation (open-mmlab://resnet50_v1c, a download) is off: it starts random;
# - 128 x 128 crops (images resized to a 128-pixel short side, a quarter of MMSeg's
#   512), batch 2, and a short schedule (1 iteration per epoch, 20 epochs, validated on
#   the held-out image after epochs 10 and 20).
# Everything else (pipelines, optimiser, OneCycle, losses, projector) is inherited.
_base_ = ['./deeplabv3_r50_cls_fitnets_inv.py']

shared = '{{$MMKD_SHARED:{{fileDirname}}/../../../shared}}'  # MMKD_SHARED=<path> overrides
data_root = shared + '/data/ade_mini'
crop_size = (128, 128)
scale = (512, 128)  # (long, short) side bound of MMSeg's (2048, 512), divided by 4

# MMEngine's Runner hands the top-level `data_preprocessor` to the distiller, so it
# changes together with the student's (as MMSeg's own configs do)
data_preprocessor = dict(size=crop_size)
model = dict(
    student=dict(pretrained=None, data_preprocessor=data_preprocessor),
    teacher=dict(_delete_=True, type='TorchvisionTeacher', model_name='mobilenet_v2'),
    teacher_ckpt=shared + '/weights/mobilenet_v2-b0353104.pth',
    infer_input_size=crop_size,  # the dry run that sizes the projector
    # MobileNetV2's last map `features.18`: (B, 1280, H/32, W/32)
    distill_pairs=[dict(_base_.model.distill_pairs[0], teacher='features.18')])

# the inherited pipelines, with the resize and crop sizes above
train_pipeline = [
    dict(t, scale=scale) if t['type'] == 'RandomResize' else
    dict(t, crop_size=crop_size) if t['type'] == 'RandomCrop' else t
    for t in _base_.train_pipeline
]
test_pipeline = [dict(t, scale=scale) if t['type'] == 'Resize' else t
                 for t in _base_.test_pipeline]
cpu_loading = dict(num_workers=0, persistent_workers=False)  # in the main process
train_dataloader = dict(batch_size=2, dataset=dict(data_root=data_root, pipeline=train_pipeline),
                        **cpu_loading)
val_dataloader = dict(dataset=dict(data_root=data_root, pipeline=test_pipeline), **cpu_loading)
test_dataloader = val_dataloader

max_epochs = 20
param_scheduler = [dict(_base_.param_scheduler[0], end=max_epochs)]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
# the last epoch's and the best-mIoU checkpoints (about 0.8 GB each with AdamW's state)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs))
randomness = dict(seed=0)
