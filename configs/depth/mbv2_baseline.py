# No-teacher baseline (the "No teacher (baseline)" rows of Tables 4-7).
_base_ = [
    '../_base_/models/mbv2_depth.py', '../_base_/datasets/nyu_depth.py',
    '../_base_/schedules/depth_onecycle_25e.py', '../_base_/default_runtime.py'
]
