# Table 9, r = 32: mbv2_spectral_r2.py with only the rank changed.
_base_ = ['./mbv2_spectral_r2.py']

model = _base_.model  # MMEngine's Python-config access to the inherited value
model.distill_pairs[0].loss.rank = 32
