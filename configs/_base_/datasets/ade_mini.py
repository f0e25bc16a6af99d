# The real ADE20K sample pairs of ../shared/data/ade_mini (2 training, 1 validation
# image; MMSeg's ADE20KDataset layout, 0 = other) for any ADE20K config, with one line:
#     _base_ = ['./my_config.py', 'mmkd_invproj::_base_/datasets/ade_mini.py']
# (inside this repository also '../_base_/datasets/ade_mini.py'). tools/train.py and
# tools/test.py merge `sample_data` over the config (mmkd_invproj.utils.sample_data):
# data roots, no worker processes, 20 iterations at batch 2 (20 epochs of one
# iteration for an epoch-based loop), logs every 5 iterations, no online student
# weights (MMSeg's `pretrained='open-mmlab://...'`, `mmcls://...`). The config's
# pipelines, model and teacher stay as they are. MMKD_SHARED=<path> points at another
# copy of shared/.
__shared = '{{$MMKD_SHARED:{{fileDirname}}/../../../../shared}}'
__root = __shared + '/data/ade_mini'
__loader = dict(num_workers=0, persistent_workers=False)
sample_data = dict(
    train_dataloader=dict(
        batch_size=2, **__loader,
        dataset=dict(data_root=__root,
                     data_prefix=dict(img_path='images/training',
                                      seg_map_path='annotations/training'))),
    val_dataloader=dict(
        batch_size=1, **__loader,
        dataset=dict(data_root=__root,
                     data_prefix=dict(img_path='images/validation',
                                      seg_map_path='annotations/validation'))),
    test_dataloader=dict(
        batch_size=1, **__loader,
        dataset=dict(data_root=__root,
                     data_prefix=dict(img_path='images/validation',
                                      seg_map_path='annotations/validation'))),
    max_epochs=20,
    max_iters=20,
    log_interval=5,
    drop_online_weights=True)
