# mbv2_spectral_r2.py on the demo data, in about a minute on a CPU. The demo settings
# (the real nyu_mini frames, the 224 x 288 crop, 40 epochs of 3 iterations at batch 2,
# validation and checkpoints after epochs 20 and 40, seed 0) are inherited from
# mbv2_cls_teacher_inv_demo.py: MMEngine refuses two bases that set the same keys
# ("Duplicate key is not allowed among bases"), so the demo settings can only be reused
# through that config. Its teacher is removed and its pair replaced by the teacher-free
# spectral pair of mbv2_spectral_r2.py (tests/test_spectral_configs.py checks that the
# two configs build the same student and pair).
_base_ = ['./mbv2_cls_teacher_inv_demo.py']

model = dict(
    teacher=None,
    distill_pairs=[
        dict(name='spectral', student='backbone', student_index=-1,
             loss=dict(type='SpectralLoss', rank=2, norm='fro', normalize=True,
                       loss_weight=1.0)),
    ])
