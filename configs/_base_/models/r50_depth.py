# ResNet-50 depth student (supplementary 6.3.1, Table 8): effb0_depth.py with timm's
# resnet50 as the TIMMBackbone encoder. features_only=True returns the stem (act1,
# stride 2) and layer1-4 (strides 4-32): 64, 256, 512, 1024, 2048 channels; no fc
# (23.51M encoder parameters, 25.56M with the classifier: the "25.6M" of Table 8).
_base_ = ['./effb0_depth.py']

model = dict(
    backbone=dict(model_name='resnet50'),
    decode_head=dict(in_channels=[64, 256, 512, 1024, 2048]))
