# Table 10, row 2: keypoint-detection teacher, Z_s = G_A_E(x) (G_A's last residual block
# on the real input, recorded in the call G_A(x)).
_base_ = ['./cyclegan_maps_table10_keypoint_cycle.py']

model = dict(distill_position='forward', distill_pairs=[
    dict(_base_.kd_pair, **_base_.kd_student_feature['forward'], **_base_.kd_method)])
