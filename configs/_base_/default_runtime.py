# Runtime shared by every mmkd-invproj config: MMSeg's own runtime, plus the plugin.
_base_ = ['mmseg::_base_/default_runtime.py']

# registers CrossTaskDistiller, the projectors, losses, depth heads and the runner
custom_imports = dict(imports=['mmkd_invproj'], allow_failed_imports=False)
# MMEngine's Runner with atomic checkpoint writes (tmp file + os.replace)
runner_type = 'AtomicCheckpointRunner'
env_cfg = dict(cudnn_benchmark=False)
log_processor = dict(by_epoch=True)
