# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Frechet Inception Distance of translated images (Heusel et al., NeurIPS 2017;
Table 10's FID), with the standard pytorch-fid Inception-v3 and its weights file."""
import os.path as osp
from typing import Any, Optional, Sequence, Tuple
from unittest import mock

import numpy as np
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric

from ..registry import METRICS

#: pytorch-fid's port of the TensorFlow FID Inception weights (inception-2015-12-05)
FID_WEIGHTS_FILE = 'pt_inception-2015-12-05-6726825d.pth'
FID_WEIGHTS_URL = ('https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/'
                   + FID_WEIGHTS_FILE)


def fid_weights_path(weights_path: Optional[str] = None) -> str:
    """The FID Inception weights file: ``weights_path``, else torch hub's cache
    (``$TORCH_HOME/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth``).

    Raises:
        FileNotFoundError: when the file is not there; the message names both
            places and where the file comes from. Nothing is downloaded.
    """
    cached = osp.join(torch.hub.get_dir(), 'checkpoints', FID_WEIGHTS_FILE)
    path = weights_path or cached
    if not osp.isfile(path):
        given = (f'FIDMetric(weights_path={weights_path!r}) does not exist'
                 if weights_path else 'no FIDMetric(weights_path=...) is set')
        raise FileNotFoundError(
            f'FID needs the Inception-v3 weights of pytorch-fid, {FID_WEIGHTS_FILE} '
            f'({FID_WEIGHTS_URL}): {given}, and it is not in the torch hub cache {cached} '
            '(set TORCH_HOME to move that). Copy the file to either place; nothing is '
            'downloaded at run time.')
    return path


def build_fid_inception(weights_path: Optional[str] = None) -> nn.Module:
    """pytorch-fid's ``InceptionV3`` returning the 2048-d pool features, its weights
    read from :func:`fid_weights_path` (pytorch-fid's own loader would download them).

    The network resizes its input (B, 3, H, W) in [0, 1] to 299 x 299 (bilinear) and
    scales it to [-1, 1], as pytorch-fid does; it is frozen and in eval mode.

    Raises:
        FileNotFoundError: see :func:`fid_weights_path`.
        ImportError: without the ``pytorch-fid`` package (``pip install pytorch-fid``).
    """
    path = fid_weights_path(weights_path)
    try:
        from pytorch_fid import inception
    except ImportError as e:  # pragma: no cover - a requirement
        raise ImportError('FIDMetric needs the pytorch-fid package: pip install '
                          'pytorch-fid==0.3.0') from e

    def load_local(url: str, progress: bool = True, **kwargs) -> dict:
        return torch.load(path, map_location='cpu', weights_only=True)

    # the FID-patched architecture of pytorch-fid, with the local file as its weights
    with mock.patch.object(inception, 'load_state_dict_from_url', load_local):
        net = inception.InceptionV3([inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]],
                                    resize_input=True, normalize_input=True,
                                    requires_grad=False, use_fid_inception=True)
    return net.eval()


def frechet_distance(feats1: np.ndarray, feats2: np.ndarray, method: str = 'auto') -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N_i, D).

    ``|mu_1 - mu_2|^2 + Tr(S_1) + Tr(S_2) - 2 Tr((S_1 S_2)^(1/2))`` (Dowson and Landau
    1982; Heusel et al. 2017) with the sample means and unbiased covariances
    ``S_i = A_i^T A_i / (N_i - 1)`` (``A_i`` the centred features). ``S_1 S_2`` has real
    non-negative eigenvalues (it is similar to ``S_1^(1/2) S_2 S_1^(1/2)``), and
    ``Tr((S_1 S_2)^(1/2))`` is the sum of their square roots, computed exactly by:

    * ``'gram'``: the nuclear norm of ``A_1 A_2^T`` (N_1 x N_2) over
      ``sqrt((N_1 - 1)(N_2 - 1))`` (the non-zero eigenvalues of ``A_1^T A_1 A_2^T A_2``
      are those of ``(A_1 A_2^T)(A_1 A_2^T)^T``): cheap when there are fewer images
      than dimensions;
    * ``'covariance'``: ``sum sqrt(eig(R S_2 R))`` with ``R = S_1^(1/2)`` from a
      symmetric eigendecomposition (D x D);
    * ``'auto'``: ``'gram'`` when ``max(N_1, N_2) <= D``, else ``'covariance'``.

    pytorch-fid computes the same trace with ``scipy.linalg.sqrtm(S_1 S_2)`` (and
    adds 1e-6 to the diagonals when that fails on a singular product); the results
    agree to numerical precision for non-singular covariances (tested), and these forms
    need no regularisation when the covariances are singular (fewer than D + 1 images).

    Args:
        feats1 (np.ndarray): (N_1, D) features of one set (N_1 >= 2).
        feats2 (np.ndarray): (N_2, D) features of the other (N_2 >= 2).
        method (str): ``'auto'``, ``'gram'`` or ``'covariance'``.

    Returns:
        float: The squared Frechet distance (what is reported as FID).

    Raises:
        ValueError: with fewer than 2 samples in a set, different dimensions or an
            unknown method.
    """
    a1, a2 = np.asarray(feats1, np.float64), np.asarray(feats2, np.float64)
    if a1.ndim != 2 or a2.ndim != 2 or a1.shape[1] != a2.shape[1]:
        raise ValueError(f'feature sets must be (N, D) with the same D: {a1.shape}, {a2.shape}')
    (n1, d), n2 = a1.shape, len(a2)
    if min(n1, n2) < 2:
        raise ValueError(f'FID needs at least 2 images per set (a covariance); got {n1} and {n2}')
    if method == 'auto':
        method = 'gram' if max(n1, n2) <= d else 'covariance'
    mu1, mu2 = a1.mean(0), a2.mean(0)
    a1, a2 = a1 - mu1, a2 - mu2
    if method == 'gram':
        tr_covmean = (np.linalg.svd(a1 @ a2.T, compute_uv=False).sum()
                      / np.sqrt((n1 - 1) * (n2 - 1)))
    elif method == 'covariance':
        s1, s2 = a1.T @ a1 / (n1 - 1), a2.T @ a2 / (n2 - 1)
        w, v = np.linalg.eigh(s1)
        root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
        tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)).sum()
    else:
        raise ValueError(f"method must be 'auto', 'gram' or 'covariance', got {method!r}")
    tr1, tr2 = (a1 ** 2).sum() / (n1 - 1), (a2 ** 2).sum() / (n2 - 1)
    return float(((mu1 - mu2) ** 2).sum() + tr1 + tr2 - 2 * tr_covmean)


@METRICS.register_module()
class FIDMetric(BaseMetric):
    """FID between the translated images ``pred_img`` and the real targets ``gt_img``
    (uint8 RGB (3, H, W)) of the evaluation set, on Inception-v3 pool features
    (:func:`build_fid_inception`, :func:`frechet_distance`). Reported as ``FID``.

    The network is built at the first batch (a missing weights file fails there with
    the message of :func:`fid_weights_path`). With few images the covariances are
    singular and the figure is a rough one; the paper's test sets have hundreds.

    Args:
        weights_path (str, optional): The weights file; None: torch hub's cache.
        pred_key (str): Data-sample key of the generated image.
        real_key (str): Data-sample key of the real image.
        device (str, optional): Where the Inception network runs (default: CUDA when
            available, else CPU).
        collect_device (str): Where results are gathered across ranks.
        prefix (str, optional): Metric name prefix.
    """

    default_prefix: Optional[str] = ''

    def __init__(self, weights_path: Optional[str] = None, pred_key: str = 'pred_img',
                 real_key: str = 'gt_img', device: Optional[str] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.weights_path, self.pred_key, self.real_key = weights_path, pred_key, real_key
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self._net: Optional[nn.Module] = None

    @torch.no_grad()
    def features(self, images: Sequence[torch.Tensor]) -> np.ndarray:
        """uint8 RGB images (3, H, W) -> pool features (N, 2048), float64."""
        if self._net is None:
            self._net = build_fid_inception(self.weights_path).to(self.device)
        batch = torch.stack([im.float() / 255.0 for im in images]).to(self.device)
        return self._net(batch)[0].flatten(1).double().cpu().numpy()

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        preds = [s[self.pred_key] for s in data_samples]
        reals = [s[self.real_key] for s in data_samples]
        self.results.append((self.features(preds), self.features(reals)))

    def compute_metrics(self, results: list) -> dict:
        fake: Tuple[np.ndarray, ...] = tuple(r[0] for r in results)
        real: Tuple[np.ndarray, ...] = tuple(r[1] for r in results)
        return dict(FID=frechet_distance(np.concatenate(fake), np.concatenate(real)))
