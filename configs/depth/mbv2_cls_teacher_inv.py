# Classification teacher -> depth student, inverted projection, FitNets (Table 6): the
# README's main job, the same experiment as mbv2_cls_fitnets_inv.py (kept under this
# name for the README, the demo and the tests).
# Teacher: torchvision ViT-B/16, ImageNet-1K (supplementary 6.3.1), frozen.
# Pair: the student's deepest encoder map (stride 32) and the teacher's final
# patch tokens, turned into a 14x14 map and bilinearly resized to the student grid.
_base_ = ['./mbv2_cls_fitnets_inv.py']
