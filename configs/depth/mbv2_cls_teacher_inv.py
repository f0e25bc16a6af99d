# Classification teacher -> depth student, inverted projection, FitNets (Table 6).
# Teacher: torchvision ViT-B/16, ImageNet-1K (supplementary 6.3.1), frozen.
# Pair: the student's deepest encoder map (stride 32) and the teacher's final
# patch tokens, turned into a 14x14 map and bilinearly resized to the student grid.
_base_ = ['./mbv2_baseline.py']

model = dict(
    _delete_=True,
    type='CrossTaskDistiller',
    student={{_base_.model}},
    teacher=dict(type='TorchvisionTeacher', model_name='vit_b_16', weights='IMAGENET1K_V1'),
    teacher_input_size=(224, 224),  # torchvision's ViT-B/16 has a fixed 14x14 grid
    distill_pairs=[
        dict(
            name='enc',
            student='backbone', student_index=-1,
            teacher='encoder',
            projector=dict(type='InvertedProjector'),
            loss=dict(type='FitNetsLoss', loss_weight=1.0)),
    ])
