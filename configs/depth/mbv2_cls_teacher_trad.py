# Classification teacher -> depth student, traditional projection, FitNets (Table 6):
# the same experiment as mbv2_cls_fitnets_trad.py.
_base_ = ['./mbv2_cls_fitnets_trad.py']
