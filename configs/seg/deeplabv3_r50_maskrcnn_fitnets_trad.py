# ADE20K, MMSeg's DeepLabV3-R50-D8 student (untouched) <- MMDet Mask R-CNN R50-FPN (COCO)
# teacher, built from MMDet's config file; FitNets, traditional projection.
_base_ = ['../_base_/seg_kd/deeplabv3_r50_maskrcnn.py', '../_base_/distill/fitnets_trad.py']

model = dict(distill_pairs=[dict(**_base_.kd_pair, **_base_.kd_method)])
