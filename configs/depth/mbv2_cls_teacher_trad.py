# Classification teacher -> depth student, traditional projection, FitNets (Table 6).
_base_ = ['./mbv2_cls_teacher_inv.py']

model = dict(distill_pairs=[
    dict(
        name='enc',
        student='backbone', student_index=-1,
        teacher='encoder',
        projector=dict(type='TraditionalProjector'),
        loss=dict(type='FitNetsLoss', loss_weight=1.0)),
])
