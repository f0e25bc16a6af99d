# Pix2Pix colorization student (supplementary 6.3.3, 6.4): the official U-Net 256 with batch
# norm and dropout (54,413,955 parameters), the 70 x 70 PatchGAN on the concatenated
# (input, output) pair (2,768,705), vanilla GAN loss + 100 x L1, N(0, 0.02) init.
# Design choice (the paper is silent): colorization as grey RGB -> RGB (3 -> 3 channels,
# the network and parameter count above; the teacher sees the grey input as it is).
# `pix2pix_facades_colorization_lab.py` switches to the official colorization L -> ab.
model = dict(
    type='Pix2Pix',
    data_preprocessor=dict(type='TranslationDataPreprocessor', colour_space='rgb'),
    generator=dict(type='UnetGenerator', in_channels=3, out_channels=3, num_downs=8, ngf=64,
                   norm='batch', use_dropout=True),
    discriminator=dict(type='NLayerDiscriminator', in_channels=6, ndf=64, n_layers=3,
                       norm='batch'),
    gan_loss=dict(type='GANLoss', gan_mode='vanilla'),
    lambda_l1=100.0,
    test_train_mode=True)  # official test.py (no --eval): dropout and batch statistics on
# The distilled student feature (design choice): the encoder's output, the 1 x 1 x 512
# bottleneck of unet_256 = the innermost down-convolution (`UnetGenerator.encoder_output`),
# prefixed with the generator's name in the model ('G').
kd_student_feature = dict(
    student='G.model.model.1' + '.model.3' * 6 + '.model.1')
