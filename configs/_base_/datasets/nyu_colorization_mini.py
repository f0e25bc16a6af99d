# Colorization on real photos, offline (the translation demos): facades_colorization.py
# with grey -> colour pairs made from the 13 real NYU Depth v2 colour frames of
# ../shared/data/raw/nyu_rgb_only for training and the 3 held-out real frames of
# ../shared/data/nyu_mini/images/test for validation and test. Whole photos (the loader
# without `half`), batch 1, no worker processes. PSNR only: the FID weights file is not
# available offline.
_base_ = ['./facades_colorization.py']

__shared = '{{$MMKD_SHARED:{{fileDirname}}/../../../../shared}}'  # MMKD_SHARED=<path> overrides
__load_colour = dict(type='LoadTranslationImages', mode='colorization')
train_pipeline = [__load_colour if t['type'] == 'LoadTranslationImages' else t
                  for t in _base_.train_pipeline]
test_pipeline = [__load_colour if t['type'] == 'LoadTranslationImages' else t
                 for t in _base_.test_pipeline]
cpu_loading = dict(num_workers=0, persistent_workers=False)  # in the main process
train_dataloader = dict(
    batch_size=1, **cpu_loading,
    dataset=dict(data_root=__shared + '/data/raw', split='nyu_rgb_only', pipeline=train_pipeline))
val_dataloader = dict(
    **cpu_loading,
    dataset=dict(data_root=__shared + '/data/nyu_mini/images', split='test',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='PSNRMetric')
test_evaluator = val_evaluator
