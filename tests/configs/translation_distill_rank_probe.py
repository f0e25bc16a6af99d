# translation_rank_probe.py distilled: a small frozen teacher (a random ResNet-18, seeded,
# ImageNet-renormalised) and one FitNets pair with the inverted projector on the
# model's encoder output (MODEL=pix2pix: the U-Net bottleneck; cyclegan: G_B's last
# residual block, Z_s = G_B_E(G_A(x))), so the projector is a DDP module of its own.
_base_ = ['./translation_rank_probe.py']

probe_student = dict(pix2pix='G.model.model.1' + '.model.3' * 6 + '.model.1',
                     cyclegan='G_B.model.18')['{{$MODEL:cyclegan}}']
model = dict(
    teacher=dict(type='TorchvisionTeacher', model_name='resnet18', weights=None),
    teacher_seed=0,
    teacher_norm=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
    infer_input_size=(64, 64) if probe_student.startswith('G_B') else (256, 256),
    distill_pairs=[dict(name='enc', student=probe_student, teacher='layer1',
                        projector=dict(type='InvertedProjector'),
                        loss=dict(type='FitNetsLoss', loss_weight=1.0))])
