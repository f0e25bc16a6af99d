# Teacher-free spectral regularisation (section 4.5, supplementary 6.11 / Table 9):
# no teacher, no projector; the student's own features are pulled towards rank r.
# L = L_silog + SpectralLoss(Z_s; r), with Z_s the student's deepest encoder map
# (`backbone` output index -1: the 160-channel, stride-32 map that the decoder takes
# first, the same feature the teacher pairs of the other depth configs distil into),
# one row per pixel of the batch. r = 2, the best rank of Table 9.
# Design choices (loss arguments, see SpectralLoss): Frobenius norm of the trailing
# singular values; normalize=True evaluates it on Z_s / sqrt(B*H*W), the per-pixel RMS
# scale, so the weight does not depend on batch size or crop (unnormalised it grows
# like sqrt(B*H*W), x60 at batch 16 and a 480 x 480 crop; normalised it starts at
# ~12 against a SILog of ~4.5 on the demo frames); loss weight 1 (supplementary 6.4:
# losses weighted equally). The rank variants mbv2_spectral_r{1,4,8,16,32}.py
# change only `rank`.
_base_ = ['./mbv2_baseline.py']

model = dict(
    _delete_=True,
    type='CrossTaskDistiller',
    student={{_base_.model}},
    teacher=None,
    distill_pairs=[
        dict(
            name='spectral',  # logged as loss_distill_spectral
            student='backbone', student_index=-1,
            loss=dict(type='SpectralLoss', rank=2, norm='fro', normalize=True,
                      loss_weight=1.0)),
    ])
