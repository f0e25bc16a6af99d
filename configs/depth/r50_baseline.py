# ResNet-50 depth student without a teacher (the baseline row of Table 8).
_base_ = [
    '../_base_/models/r50_depth.py', '../_base_/datasets/nyu_depth.py',
    '../_base_/schedules/depth_onecycle_25e.py', '../_base_/default_runtime.py'
]
