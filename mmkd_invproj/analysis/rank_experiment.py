# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Small-scale Figure 4: the numerical rank of the projector P learned with the
inverted vs the traditional projection, from a random vs a same-task teacher
(supplementary 6.9: the inverted P stays low-rank when the teacher's task differs).

Everything runs through MMEngine's Runner on the depth demo config
(``configs/depth/mbv2_cls_teacher_inv_demo.py``, the real ``nyu_mini`` frames),
changed by config overrides:

1. **Same-task teacher**: the demo's depth student alone (MobileNetV2-0.5 + ``Decoder``)
   trained ``teacher_iters`` iterations; its encoder becomes the depth teacher.
2. **Four distillation runs**: {traditional, inverted} projector x {random, same-task}
   teacher, SILog + FitNets on the student's deepest encoder map (``backbone`` output
   -1, 160 channels, stride 32). Both teachers are the student's own encoder design
   (``layer7``: 160 channels), so only the task differs and P is 160 x 160. The
   random teacher (``teacher_seed``) gets BatchNorm statistics of the training frames
   (:func:`calibrate_random_teacher`); the same-task teacher loads step 1's
   ``backbone.`` weights. ``ProjectorSpectrumHook`` records P every ``interval``.
3. The final numerical rank (``> 0.01 sigma_1``, Figure 4's tolerance) of each case,
   with the rank at 0.1 sigma_1, the effective rank, and the eq. 18 terms of the final
   model on one batch (:func:`summarise`, :func:`summary_table`).

Every run shares the student's initialisation, the batches (batch 2, 224 x 288 crops:
2 x 7 x 9 = 126 feature rows) and AdamW (weight decay 0.05) at a constant learning
rate, by default 1e-3: five times the paper's 2e-4 without warm-up, so that P moves
well beyond its Kaiming-uniform initialisation (entries ~0.05) within a few hundred
iterations (an AdamW step moves an entry by at most ~lr).
"""
import contextlib
import copy
import io
import logging
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from .decomposition import decompose_batch
from .spectrum import effective_rank, load_spectrum, numerical_rank

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

    from ..registry import MODELS
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


def build_runner(cfg, quiet: bool = True):
    """The config's Runner (``RUNNERS.build``: its ``runner_type``, default MMEngine's
    ``Runner``); with ``quiet`` its console shows errors only, while its log file
    (``runner.logger.log_file``) keeps everything: the environment, the config dump,
    the per-parameter initialisation, warnings and the training log."""
    from mmengine.registry import RUNNERS
    if not quiet:
        return RUNNERS.build(cfg)
    with contextlib.redirect_stdout(io.StringIO()) as sink:  # what the runner logs while built
        runner = RUNNERS.build(cfg)
    for handler in runner.logger.handlers:
        if getattr(handler, 'stream', None) is sink:  # MMLogger's console handler
            handler.setStream(sys.stdout)
            handler.setLevel(logging.ERROR)
    return runner


@contextlib.contextmanager
def errors_only_on_console(logger: logging.Logger):
    """Inside the block, ``logger``'s console handlers pass errors only."""
    consoles = [h for h in logger.handlers if type(h) is logging.StreamHandler]
    levels = [h.level for h in consoles]
    for h in consoles:
        h.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for h, level in zip(consoles, levels):
            h.setLevel(level)


def final_decomposition(runner, batch_size: int = 6) -> dict:
    """Eq. 18 terms of the trained distiller on one batch of training frames.

    The batch holds ``batch_size`` augmented training crops (6: every nyu_mini
    training frame once, 6 x 63 = 378 feature rows, more than the 160 channels, so
    the rank of the projected features is not capped by the number of rows); the
    model runs in eval mode (BatchNorm running statistics).

    Returns:
        dict: the entry of :func:`~.decomposition.decompose_batch` for the pair.
    """
    from mmengine.runner import Runner
    loader_cfg = dict(runner.cfg.train_dataloader, batch_size=batch_size, num_workers=0,
                      persistent_workers=False,
                      sampler=dict(type='DefaultSampler', shuffle=False))
    batch = next(iter(Runner.build_dataloader(loader_cfg, seed=runner.seed)))
    runner.model.eval()
    return decompose_batch(runner.model, batch)[0]


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


def summary_table(rows: List[dict]) -> str:
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


def run_rank_experiment(out_dir: str, demo_config: str, iters: int = 200,
                        teacher_iters: int = 300, interval: int = 10, lr: float = 1e-3,
                        teacher_seed: int = 1, calibrate: bool = True,
                        cases: Optional[Sequence[str]] = None,
                        progress: Callable[[str], None] = print) -> dict:
    """Run the experiment (see the module docstring) into ``out_dir``.

    Each training run reports one line through ``progress`` (``run k of n: ...``,
    with its log file); below errors, the Runners' own messages go to their log files
    only (:func:`build_runner`). An existing ``depth_teacher/iter_<teacher_iters>.pth``
    is reused.

    Args:
        out_dir (str): Output folder.
        demo_config (str): The config every run inherits.
        iters (int): Iterations of each distillation run.
        teacher_iters (int): Iterations of the same-task teacher.
        interval (int): ``ProjectorSpectrumHook`` interval.
        lr (float): Constant AdamW learning rate.
        teacher_seed (int): Seed of the random teacher.
        calibrate (bool): Estimate the random teacher's BatchNorm statistics
            (:func:`calibrate_random_teacher`).
        cases (Sequence[str], optional): ``'<projector>_<teacher>'`` names of
            :data:`CASES` to run (default: all four).
        progress (Callable[[str], None]): Receives the progress lines.

    Returns:
        dict: ``rows`` (:func:`summarise`), ``cases`` (case -> label of the
        distillation runs), ``spectra`` and ``decompositions`` by label, ``runs``
        (run -> log folder), ``seconds`` (per run).
    """
    import time
    cases = list(cases or [f'{p}_{t}' for p, t in CASES])
    out_dir = osp.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    teacher_ckpts = dict(random=None, same_task=None)
    if any(c.endswith('_random') for c in cases) and calibrate:
        from mmengine.logging import MMLogger
        progress('random teacher: BatchNorm statistics of the training frames')
        with errors_only_on_console(MMLogger.get_current_instance()):
            teacher_ckpts['random'] = calibrate_random_teacher(
                demo_config, osp.join(out_dir, 'random_teacher', 'bn_calibrated.pth'),
                teacher_seed)
    runs = []
    if any(c.endswith('same_task') for c in cases):
        teacher_dir = osp.join(out_dir, 'depth_teacher')
        teacher_ckpts['same_task'] = osp.join(teacher_dir, f'iter_{teacher_iters}.pth')
        if osp.isfile(teacher_ckpts['same_task']):
            progress(f'reusing the same-task teacher {teacher_ckpts["same_task"]}')
        else:
            runs.append(('depth_teacher', 'same-task depth teacher', teacher_iters,
                         lambda: teacher_pretrain_config(demo_config, teacher_dir,
                                                         teacher_iters, lr)))
    for projector, teacher in CASES:
        case = f'{projector}_{teacher}'
        if case in cases:
            runs.append((case, f'{projector}, {TEACHER_LABELS[teacher]}', iters,
                         lambda p=projector, t=teacher, c=case: distill_config(
                             demo_config, osp.join(out_dir, c), iters, lr, p, t,
                             teacher_ckpts[t], interval, teacher_seed)))
    result = dict(cases=OrderedDict(), spectra=OrderedDict(), decompositions={}, runs={},
                  seconds={})
    for k, (case, label, n_iters, make_cfg) in enumerate(runs, 1):
        t0 = time.time()
        runner = build_runner(make_cfg())
        progress(f'run {k} of {len(runs)}: {label}, {n_iters} iterations '
                 f'(log: {runner.logger.log_file})')
        runner.train()
        result['seconds'][case] = round(time.time() - t0, 1)
        result['runs'][case] = runner.log_dir
        if case != 'depth_teacher':
            result['cases'][case] = label
            result['spectra'][label] = load_spectrum(
                osp.join(runner.log_dir, 'projector_spectrum.jsonl'))['enc']
            result['decompositions'][label] = final_decomposition(runner)
    result['rows'] = summarise(result['spectra'], result['decompositions'])
    return result
