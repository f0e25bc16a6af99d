# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Small-scale Figure 4: the numerical rank of the projector P learned with the
inverted vs the traditional projection, from a random vs a same-task teacher.

Supplementary 6.9 / Figure 4: the inverted P stays low-rank when the teacher's task
differs from the student's, the traditional P stays high-rank. This script
reproduces the 2 x 2 grid at toy scale on a CPU, on the real RGB-D frames of
``../shared/data/nyu_mini``, entirely through MMEngine's Runner and the demo config
(``configs/depth/mbv2_cls_teacher_inv_demo.py``, changed through config overrides):

1. **Same-task teacher**: the demo's depth student alone (its ``model.student``, a
   MobileNetV2-0.5 + ``Decoder`` depth network) is trained for ``--teacher-iters``
   iterations on the same frames; its encoder becomes the depth teacher.
2. **Four distillation runs** of ``--iters`` iterations each, the depth student
   (SILog) + FitNets on the student's deepest encoder map (``backbone`` output -1,
   160 channels, stride 32): {traditional, inverted} projector x {random frozen
   teacher, same-task teacher}. Both teachers are the *same architecture* (the
   student's MobileNetV2-0.5 encoder, feature ``layer7``: 160 channels, stride 32), so
   only the teacher's task differs and P is 160 x 160 (numerical ranks up to 160).
   The random teacher is initialised with ``teacher_seed`` (different from the
   student's seed) and its BatchNorm running statistics are estimated on the
   training frames (:func:`calibrate_random_teacher`: without it its eval-mode
   features vanish, RMS ~6e-8); the same-task teacher loads step 1's
   ``backbone.`` weights (and running statistics). ``ProjectorSpectrumHook``
   records P's singular values every ``--interval`` iterations.
3. The final numerical rank (singular values ``> 0.01 * sigma_1``, Figure 4's
   tolerance) of each case is printed as a table (with the rank at 0.1 * sigma_1, the
   effective rank of Roy & Vetterli 2007, the initial rank, and the eq. 18 terms of
   the final model on one batch from ``loss_decomposition.py``), written to
   ``summary.json`` / ``summary.md``, and the spectra are drawn with
   ``tools/analysis/plot_projector_spectrum.py``: one PNG per case and a 2 x 2
   ``figure4.png`` (top row traditional, bottom row inverted, as in Figure 4).

Every run shares the student's initialisation (``randomness.seed``), the batches
(the demo loader, batch 2, 224 x 288 crops: 2 x 7 x 9 = 126 feature rows per batch)
and the optimiser (AdamW, weight decay 0.05) at a constant ``--lr``, by default
1e-3: five times the paper's 2e-4 and no warm-up, a compressed schedule so that P
moves well beyond its random (Kaiming-uniform) initialisation within a few hundred
iterations (at 2e-4 an AdamW step moves each entry of P by at most ~2e-4, and
200 steps barely reach the initial entries' scale, ~0.05).

Usage::

    python tools/analysis/rank_experiment.py [--iters 200] [--teacher-iters 300] \
        [--interval 10] [--threads 1] [--out-dir work_dirs/rank_experiment]

About 0.4-0.5 CPU seconds per iteration with ``--threads 1``: ~9 CPU minutes for the
defaults (measured: 5.4 CPU minutes for the four 200-iteration runs, 13 minutes of
wall time on a busy 2-core machine). An existing ``depth_teacher/iter_<N>.pth`` in
the output folder is reused.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, REPO)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from loss_decomposition import decompose_batch  # noqa: E402
from plot_projector_spectrum import load_spectrum, plot_spectrum  # noqa: E402

from mmkd_invproj.hooks.projector_spectrum import numerical_rank  # noqa: E402

DEMO_CONFIG = osp.join(REPO, 'configs', 'depth', 'mbv2_cls_teacher_inv_demo.py')
#: (projector, teacher) in Figure 4's order: top row traditional, bottom row inverted
CASES = (('traditional', 'random'), ('traditional', 'same_task'),
         ('inverted', 'random'), ('inverted', 'same_task'))
PROJECTORS = dict(inverted='InvertedProjector', traditional='TraditionalProjector')
TEACHER_LABELS = dict(random='random teacher', same_task='same-task teacher')
#: the distilled features: student encoder output -1 and the teacher encoder's layer7
STUDENT_FEATURE = dict(student='backbone', student_index=-1)
TEACHER_FEATURE = 'layer7'


def short_run(cfg, work_dir: str, iters: int, lr: float, name: str):
    """Turn an (epoch-based) demo config into a short iteration-based run, in place.

    ``iters`` iterations of the demo loader (infinite sampler), constant learning
    rate ``lr``, no validation, logs every 10 iterations, one checkpoint
    (``iter_<iters>.pth``) at the end. ``experiment_name`` keeps MMEngine's per-run singletons
    (visualizer, message hub) apart when several runs share one process.

    Returns:
        Config: ``cfg``.
    """
    cfg.work_dir = work_dir
    cfg.experiment_name = name
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters + 1)
    for loop in ('val', 'test'):  # no evaluation
        for part in ('cfg', 'dataloader', 'evaluator'):
            cfg[f'{loop}_{part}'] = None
    cfg.param_scheduler = []
    cfg.optim_wrapper.optimizer.lr = lr
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.log_processor = dict(by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False,
                                        interval=iters)
    return cfg


def teacher_pretrain_config(demo_config: str, work_dir: str, iters: int, lr: float):
    """Config of step 1: the demo's depth student alone, trained ``iters`` iterations."""
    from mmengine.config import Config
    cfg = Config.fromfile(demo_config)
    cfg.model = cfg.model.student
    return short_run(cfg, work_dir, iters, lr, 'depth_teacher')


def distill_config(demo_config: str, work_dir: str, iters: int, lr: float, projector: str,
                   teacher: str, teacher_ckpt: Optional[str], interval: int,
                   teacher_seed: int = 1):
    """Config of one case of step 2 (see the module docstring).

    Args:
        demo_config (str): The demo config everything inherits from.
        work_dir (str): Run folder.
        iters (int): Training iterations.
        lr (float): Constant AdamW learning rate.
        projector (str): ``'inverted'`` or ``'traditional'``.
        teacher (str): ``'random'`` or ``'same_task'``.
        teacher_ckpt (str, optional): ``'same_task'``: step 1's checkpoint (its
            ``backbone.`` keys are loaded). ``'random'``: the file written by
            :func:`calibrate_random_teacher` (None: the seeded initialisation with
            its initial BatchNorm statistics).
        interval (int): ``ProjectorSpectrumHook`` interval in iterations.
        teacher_seed (int): Seed of the random teacher's initialisation.

    Raises:
        ValueError: for an unknown projector/teacher, or a same-task teacher
            without a checkpoint.
    """
    from mmengine.config import Config
    if projector not in PROJECTORS or teacher not in TEACHER_LABELS:
        raise ValueError(f'unknown case ({projector!r}, {teacher!r}); projector in '
                         f'{list(PROJECTORS)}, teacher in {list(TEACHER_LABELS)}')
    if teacher == 'same_task' and not teacher_ckpt:
        raise ValueError('the same-task teacher needs the checkpoint of step 1')
    cfg = Config.fromfile(demo_config)
    model = cfg.model
    model.teacher = copy.deepcopy(model.student.backbone)  # the student's encoder design
    model.teacher_input_size = None
    model.teacher_seed = teacher_seed if teacher == 'random' else None
    model.teacher_ckpt = teacher_ckpt
    model.teacher_ckpt_prefix = 'backbone.' if teacher == 'same_task' else None
    model.teacher_ckpt_strict = teacher_ckpt is not None
    model.distill_pairs = [dict(
        name='enc', **STUDENT_FEATURE, teacher=TEACHER_FEATURE,
        projector=dict(type=PROJECTORS[projector]),
        loss=dict(type='FitNetsLoss', loss_weight=1.0))]
    cfg.custom_hooks = [dict(type='ProjectorSpectrumHook', interval=interval)]
    return short_run(cfg, work_dir, iters, lr, f'{projector}_{teacher}')


def calibrate_random_teacher(demo_config: str, out_file: str, teacher_seed: int = 1,
                             batches: int = 6) -> str:
    """The random frozen teacher, with BatchNorm statistics of the training frames.

    At its initialisation an MMSeg MobileNetV2 in eval mode normalises with the
    initial running statistics (mean 0, variance 1): its ``layer7`` features on the
    nyu_mini frames have an RMS of about 6e-8 (measured), so P gets no usable
    gradient and the "teacher" is a zero map. The paper's random teacher is a ViT,
    whose LayerNorms keep random features at unit scale. Here the running statistics
    of the seeded random network (built exactly as in the distillation runs, by
    :class:`CrossTaskDistiller` from :func:`distill_config`) are estimated on
    ``batches`` training batches with ``torch.optim.swa_utils.update_bn``
    (cumulative averages, no gradient): the weights stay random, only the BN buffers
    change, to the statistics any BN network run on these frames carries.

    Returns:
        str: ``out_file``, a ``{'state_dict': teacher weights}`` checkpoint for
        ``teacher_ckpt``.
    """
    import itertools

    import torch
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from torch.optim.swa_utils import update_bn

    from mmkd_invproj.registry import MODELS
    cfg = distill_config(demo_config, osp.dirname(out_file), 1, 0.0, 'inverted', 'random',
                         None, 1, teacher_seed)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(cfg.model)
    loader = Runner.build_dataloader(
        dict(cfg.train_dataloader, num_workers=0, persistent_workers=False),
        seed=cfg.randomness.seed)
    with torch.no_grad():
        inputs = [model.teachers['teacher'].prepare(model.data_preprocessor(b, True)['inputs'])
                  for b in itertools.islice(loader, batches)]
        update_bn(inputs, model.teacher)
    model.teacher.eval()
    os.makedirs(osp.dirname(out_file), exist_ok=True)
    torch.save({'state_dict': model.teacher.state_dict()}, out_file)
    return out_file


def train(cfg):
    """Build the config's Runner, train, and return the runner."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    import mmkd_invproj  # noqa: F401
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    return runner


def final_decomposition(runner, batch_size: int = 6) -> dict:
    """Eq. 18 terms of the trained distiller on one batch of training frames.

    The batch holds ``batch_size`` augmented training crops (6: every nyu_mini
    training frame once, 6 x 63 = 378 feature rows, more than the 160 channels, so
    the rank of the projected features is not capped by the number of rows); the
    model runs in eval mode (BatchNorm running statistics).

    Returns:
        dict: the entry of ``loss_decomposition.decompose_batch`` for the pair.
    """
    from mmengine.runner import Runner
    loader_cfg = dict(runner.cfg.train_dataloader, batch_size=batch_size, num_workers=0,
                      persistent_workers=False,
                      sampler=dict(type='DefaultSampler', shuffle=False))
    batch = next(iter(Runner.build_dataloader(loader_cfg, seed=runner.seed)))
    runner.model.eval()
    return decompose_batch(runner.model, batch)[0]


def effective_rank(singular_values: Sequence[float]) -> float:
    """exp of the entropy of the normalised singular values (Roy & Vetterli, 2007).

    ``p_i = sigma_i / sum_j sigma_j``, ``erank = exp(-sum_i p_i log p_i)``; between 1
    and the number of nonzero singular values, and, unlike the numerical rank, it
    moves continuously as the spectrum decays. 0 for an all-zero spectrum.
    """
    sv = np.asarray(singular_values, dtype=np.float64)
    sv = sv[np.isfinite(sv) & (sv > 0)]
    if sv.size == 0:
        return 0.0
    p = sv / sv.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def summarise(spectra: Dict[str, dict], decompositions: Dict[str, dict]) -> List[dict]:
    """One row per case.

    Args:
        spectra: ``{case: load_spectrum(...)['enc']}``.
        decompositions: ``{case: final_decomposition(...)}``.

    Returns:
        list[dict]: ``case``, ``min_dim`` (P's smaller dimension), ``iters``,
        ``rank_init`` and ``rank_final`` (at 0.01 sigma_1), ``rank_final_0.1``,
        ``erank_init``, ``erank_final``, ``sigma_1_final``, and from the decomposition
        ``rank_ZP`` (numerical rank of the projected features on one batch),
        ``loss`` (the FitNets loss), ``transfer``, ``regularisation`` and ``residual``
        (eq. 18 terms in loss units).
    """
    rows = []
    for case, spec in spectra.items():
        sv = spec['singular_values']
        first, last = sv[0][np.isfinite(sv[0])], sv[-1][np.isfinite(sv[-1])]
        dec = decompositions[case]
        scale = dec['scale']
        rows.append(OrderedDict(
            case=case, min_dim=int(last.size), iters=int(spec['iters'][-1]),
            rank_init=numerical_rank(first, 0.01), rank_final=numerical_rank(last, 0.01),
            **{'rank_final_0.1': numerical_rank(last, 0.1)},
            erank_init=round(effective_rank(first), 2),
            erank_final=round(effective_rank(last), 2),
            sigma_1_final=round(float(last.max()), 4),
            rank_ZP=dec['rank'], loss=float(f'{dec["logged"]:.4g}'),
            transfer=float(f'{scale * dec["transfer_sq"]:.4g}'),
            regularisation=float(f'{scale * dec["regularisation_sq"]:.4g}'),
            residual=float(f'{scale * dec["residual"]:.3g}')))
    return rows


def markdown_table(rows: List[dict]) -> str:
    """The summary rows as a Markdown table."""
    head = ('| case | rank of P at 0.01 sigma_1 (init -> final) | at 0.1 sigma_1 '
            '| effective rank (init -> final) | sigma_1 | rank(Z P) on a batch '
            '| FitNets loss = transfer + regularisation + residual (eq. 18) |\n'
            '| --- | --- | --- | --- | --- | --- | --- |\n')
    body = ''.join(
        f'| {r["case"]} | {r["rank_init"]} -> **{r["rank_final"]}** / {r["min_dim"]} | '
        f'{r["rank_final_0.1"]} | {r["erank_init"]} -> {r["erank_final"]} | '
        f'{r["sigma_1_final"]} | {r["rank_ZP"]} | {r["loss"]} = {r["transfer"]} + '
        f'{r["regularisation"]} + ({r["residual"]}) |\n' for r in rows)
    return head + body


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Small-scale Figure 4: numerical rank of P, inverted vs traditional, '
        'random vs same-task teacher, on the nyu_mini frames (CPU, minutes).')
    parser.add_argument('--out-dir', default=osp.join(REPO, 'work_dirs', 'rank_experiment'))
    parser.add_argument('--demo-config', default=DEMO_CONFIG,
                        help='config every run inherits (data, student, optimiser)')
    parser.add_argument('--iters', type=int, default=200,
                        help='training iterations of each distillation run')
    parser.add_argument('--teacher-iters', type=int, default=300,
                        help='training iterations of the same-task (depth) teacher')
    parser.add_argument('--interval', type=int, default=10,
                        help='ProjectorSpectrumHook interval (iterations)')
    parser.add_argument('--lr', type=float, default=1e-3,
                        help='constant AdamW learning rate (default 1e-3: 5x the paper\'s '
                        '2e-4, a compressed schedule)')
    parser.add_argument('--teacher-seed', type=int, default=1,
                        help='seed of the random teacher (the student uses the demo seed)')
    parser.add_argument('--no-calibration', action='store_true',
                        help='random teacher with its initial BatchNorm statistics '
                        '(its features then vanish, see calibrate_random_teacher)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (1 is fastest on a busy 2-core CPU)')
    parser.add_argument('--cases', nargs='+', default=[f'{p}_{t}' for p, t in CASES],
                        choices=[f'{p}_{t}' for p, t in CASES])
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    args = parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    out = osp.abspath(args.out_dir)
    os.makedirs(out, exist_ok=True)
    timings = {}
    teacher_ckpts = dict(random=None, same_task=None)
    if any(c.endswith('_random') for c in args.cases) and not args.no_calibration:
        teacher_ckpts['random'] = calibrate_random_teacher(
            args.demo_config, osp.join(out, 'random_teacher', 'bn_calibrated.pth'),
            args.teacher_seed)
    if any(c.endswith('same_task') for c in args.cases):
        teacher_dir = osp.join(out, 'depth_teacher')
        teacher_ckpts['same_task'] = osp.join(teacher_dir, f'iter_{args.teacher_iters}.pth')
        if osp.isfile(teacher_ckpts['same_task']):
            print(f'reusing the same-task teacher {teacher_ckpts["same_task"]}')
        else:
            t0 = time.time()
            train(teacher_pretrain_config(args.demo_config, teacher_dir, args.teacher_iters,
                                          args.lr))
            timings['depth_teacher'] = round(time.time() - t0, 1)

    spectra, decompositions, pngs = OrderedDict(), {}, {}
    for projector, teacher in CASES:
        case = f'{projector}_{teacher}'
        if case not in args.cases:
            continue
        t0 = time.time()
        runner = train(distill_config(args.demo_config, osp.join(out, case), args.iters,
                                      args.lr, projector, teacher, teacher_ckpts[teacher],
                                      args.interval, args.teacher_seed))
        timings[case] = round(time.time() - t0, 1)
        spec = load_spectrum(osp.join(runner.log_dir, 'projector_spectrum.jsonl'))['enc']
        label = f'{projector}, {TEACHER_LABELS[teacher]}'
        spectra[label] = spec
        decompositions[label] = final_decomposition(runner)
        pngs[case] = plot_spectrum({label: spec}, osp.join(out, f'{case}.png'), title=label)

    rows = summarise(spectra, decompositions)
    figure = plot_spectrum(spectra, osp.join(out, 'figure4.png'), ncols=2,
                           title='Singular values of P (top: traditional, bottom: inverted; '
                           'nyu_mini, MobileNetV2-0.5 depth student)')
    table = markdown_table(rows)
    with open(osp.join(out, 'summary.md'), 'w') as f:
        f.write(table)
    with open(osp.join(out, 'summary.json'), 'w') as f:
        json.dump(dict(args=vars(args), rows=rows, pngs=dict(pngs, figure4=figure),
                       seconds=timings), f, indent=2)
    print(table)
    print(f'figures: {figure} and ' + ', '.join(pngs.values()))
    print(f'seconds per run: {timings}')
    return rows


if __name__ == '__main__':
    main()
