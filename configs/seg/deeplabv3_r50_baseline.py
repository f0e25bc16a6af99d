# No-teacher baseline of the segmentation experiments (supplementary 6.3.2): MMSeg's
# DeepLabV3 with a ResNetV1c-50-D8 backbone (ImageNet weights, open-mmlab://resnet50_v1c)
# on ADE20K (150 classes), trained with the schedule of supplementary 6.7. The model is
# MMSeg's, untouched; this file only adds the plugin's runtime.
_base_ = ['../_base_/schedules/seg_onecycle_80e.py']

# registers CrossTaskDistiller, projectors, losses, teachers, hooks and the runner
custom_imports = dict(imports=['mmkd_invproj'], allow_failed_imports=False)
runner_type = 'AtomicCheckpointRunner'  # checkpoints written via tmp file + rename
# fails at train/val start when the dataset's class count and num_classes disagree
custom_hooks = [dict(type='SegNumClassesCheckHook')]
