# ADE20K, MMSeg's DeepLabV3-R50-D8 student (untouched) <- randomly initialised, frozen ResNet-50 teacher;
# FitNets, traditional projection; schedule of supplementary 6.7.
_base_ = ['../_base_/seg_kd/deeplabv3_r50_random.py', '../_base_/distill/fitnets_trad.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])
