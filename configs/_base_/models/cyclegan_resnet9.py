# CycleGAN satellite-to-map student (supplementary 6.3.3, 6.4): the official ResNet
# generators with 9 blocks and instance norm (11,378,179 parameters each), 70 x 70 PatchGAN
# discriminators with instance norm (2,764,737 each), LSGAN loss, cycle weight 10 per
# direction, identity weight 0.5, image pools of 50, N(0, 0.02) init. G_A: satellite (A)
# -> map (B); G_B: map -> satellite.
model = dict(
    type='CycleGAN',
    data_preprocessor=dict(type='TranslationDataPreprocessor', colour_space='rgb'),
    generator=dict(type='ResnetGenerator', in_channels=3, out_channels=3, ngf=64, n_blocks=9,
                   norm='instance', use_dropout=False),
    discriminator=dict(type='NLayerDiscriminator', in_channels=3, ndf=64, n_layers=3,
                       norm='instance'),
    gan_loss=dict(type='GANLoss', gan_mode='lsgan'),
    lambda_A=10.0, lambda_B=10.0, lambda_identity=0.5, pool_size=50,
    distill_position='cycle')
# The distilled student feature (supplementary 6.12, Table 10), by `distill_position`:
# 'cycle': Z_s = G_B_E(G_A(x)), the paper's choice; 'forward': Z_s = G_A_E(x). The encoder
# output of a ResNet generator (design choice) is its last residual block, `model.18`
# (`ResnetGenerator.encoder_output`: 4 ngf = 256 channels at 1/4 resolution).
kd_student_feature = dict(
    cycle=dict(student='G_B.model.18'),
    forward=dict(student='G_A.model.18'))
