# Runtime of the image-translation students: the package runtime plus what a GAN needs.
_base_ = ['./default_runtime.py']

# A GAN steps its network groups separately (train_step with an OptimWrapperDict), so DDP
# wraps each child of the model on its own, as MMagic does for its GANs.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
# input | translation | target strips of the first validation images, every validation
# (<work_dir>/<timestamp>/vis_data/vis_image/)
custom_hooks = [dict(type='TranslationVisualizationHook', max_images=4)]
