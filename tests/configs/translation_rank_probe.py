# The translation demos, tiny (narrow networks, 4 training images, 2 epochs, no
# validation or checkpoint), plus a hook that makes every rank report what it did.
# MODEL=pix2pix|cyclegan chooses the demo.
_base_ = ['../../configs/translation/{{$MODEL:cyclegan}}_colorization_demo.py']

custom_imports = dict(imports=['mmkd_invproj', 'tests.translation_rank_probe'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='TranslationRankProbeHook')]
model = dict(generator=dict(ngf=8), discriminator=dict(ndf=8))
train_dataloader = dict(dataset=dict(indices=4))
train_cfg = dict(max_epochs=2, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=100))
