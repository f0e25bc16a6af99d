# The colorization baseline as the official colorization dataset poses it: L -> ab in CIE
# Lab (input L / 50 - 1, target ab / 110; a U-Net 1 -> 2 channels, a discriminator on the
# 3-channel (L, ab) pair). Predictions are put back together as RGB (input L + predicted
# ab) for PSNR / FID, so the figures compare with the grey RGB -> RGB default.
_base_ = ['./pix2pix_facades_colorization.py']

model = dict(
    data_preprocessor=dict(colour_space='lab'),
    generator=dict(in_channels=1, out_channels=2),
    discriminator=dict(in_channels=3))
