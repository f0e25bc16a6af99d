# The demo config plus a hook recording what mixed precision did (tests/amp_probe.py);
# tests/test_amp.py shortens the schedule with --cfg-options.
_base_ = ['../../configs/depth/mbv2_cls_teacher_inv_demo.py']

custom_imports = dict(imports=['mmkd_invproj', 'tests.amp_probe'], allow_failed_imports=False)
custom_hooks = [dict(type='AmpProbeHook')]
