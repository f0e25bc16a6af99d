# Colorization (Pix2Pix, CMP Facades) <- AiT SwinV2-B NYUv2 depth teacher; FitNets, traditional
# projection (student -> teacher space).
_base_ = ['../_base_/translation_kd/pix2pix_depth.py', '../_base_/distill/fitnets_trad.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])
