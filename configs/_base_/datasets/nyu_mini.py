# The real RGB-D sample frames of ../shared/data/nyu_mini (6 train, 3 test; MMSeg's
# NYUDataset layout, depth in millimetres) for any depth config, with one line:
#     _base_ = ['./my_config.py', 'mmkd_invproj::_base_/datasets/nyu_mini.py']
# (inside this repository also '../_base_/datasets/nyu_mini.py'). tools/train.py and
# tools/test.py merge `sample_data` over the config (mmkd_invproj.utils.sample_data):
# data roots, no worker processes, 7 epochs of 3 iterations (or 20 iterations for an
# iteration-based loop), logs every 5 iterations, no online student weights. The
# config's pipelines, model and teacher stay as they are. MMKD_SHARED=<path> points
# at another copy of shared/.
__shared = '{{$MMKD_SHARED:{{fileDirname}}/../../../../shared}}'
__root = __shared + '/data/nyu_mini'
__loader = dict(num_workers=0, persistent_workers=False)
sample_data = dict(
    train_dataloader=dict(
        batch_size=2, **__loader,
        dataset=dict(data_root=__root,
                     data_prefix=dict(img_path='images/train',
                                      depth_map_path='annotations/train'))),
    val_dataloader=dict(
        batch_size=1, **__loader,
        dataset=dict(data_root=__root,
                     data_prefix=dict(img_path='images/test',
                                      depth_map_path='annotations/test'))),
    test_dataloader=dict(
        batch_size=1, **__loader,
        dataset=dict(data_root=__root,
                     data_prefix=dict(img_path='images/test',
                                      depth_map_path='annotations/test'))),
    max_epochs=7,
    max_iters=20,
    log_interval=5,
    drop_online_weights=True)
