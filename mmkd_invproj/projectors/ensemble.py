# Copyright (c) mmkd-invproj authors. All rights reserved.
"""Projector ensemble: several independently initialised projections, averaged
(Chen et al., "Improved Feature Distillation via Projector Ensemble", NeurIPS 2022;
the "Ensemble" rows of supplementary Tables 4-7)."""
import copy
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from ..registry import MODELS
from .base import BaseProjector

#: the BaseProjector arguments an ensemble forwards to each of its members
MEMBER_KWARGS = ('in_channels', 'out_channels', 'bias', 'resize_to', 'resize_mode',
                 'align_corners')


@MODELS.register_module()
class EnsembleProjector(BaseProjector):
    """``num_projectors`` projectors of one config, independently initialised, whose
    projected outputs are averaged: ``(mean_k pred_k, target)``.

    The member type fixes the side: :class:`InvertedProjector` members give
    ``pred = mean_k P_k(teacher)``, :class:`TraditionalProjector` members
    ``mean_k P_k(student)`` (Chen et al.'s setting); ``target`` is the other map
    (only resized). ``forward`` is :meth:`BaseProjector.forward` with :meth:`project`
    the members' mean: every member has the ensemble's resize settings and resizing is
    linear, so this equals averaging the members' own ``(pred, target)``. The BaseProjector
    arguments given to the ensemble go to every member; without channels they are
    inferred (``is_built``, ``channels_for``, ``build`` follow the members).

    Averaging linear pixel-wise maps is linear, ``mean_k P_k(x) = (mean_k W_k) x``, so
    ``weight_matrix`` is the mean (out, in) matrix, the effective projection for the
    spectrum analysis; ``member_weight_matrices`` stacks the members' (a bias is
    averaged likewise and is in neither).

    Args:
        projector (dict): Config of one member, e.g. ``dict(type='InvertedProjector')``
            (default) or ``dict(type='TraditionalProjector')``. It must build a
            :class:`BaseProjector`. It may also carry the BaseProjector arguments; a
            value given both there and to the ensemble must agree.
        num_projectors (int): Number of members, >= 1. Defaults to 3 (Chen et al.).
        **kwargs: BaseProjector arguments passed to every member (see above).

    Shapes:
        As the member type: student (B, C_s, H_s, W_s) / tokens / vectors, teacher
        likewise; returns ``(pred, target)`` of identical shape (B, C, H, W).

    Raises:
        ValueError: ``num_projectors`` < 1 or not an integer, a ``projector`` config
            without ``type``, a BaseProjector argument given with two different
            values, or members that disagree on ``projected_side``.
        TypeError: an unknown keyword argument, or a ``projector`` config that does
            not build a :class:`BaseProjector`.

    Examples:
        >>> ens = EnsembleProjector(dict(type='InvertedProjector'), num_projectors=3,
        ...                         in_channels=1280, out_channels=160)
        >>> pred, target = ens(torch.rand(2, 160, 8, 10), torch.rand(2, 1280, 4, 5))
        >>> pred.shape, target.shape
        (torch.Size([2, 160, 8, 10]), torch.Size([2, 160, 8, 10]))
    """

    def __init__(self,
                 projector: Optional[dict] = None,
                 num_projectors: int = 3,
                 **kwargs) -> None:
        if projector is None:
            projector = dict(type='InvertedProjector')
        if (isinstance(num_projectors, bool) or not isinstance(num_projectors, int)
                or num_projectors < 1):
            raise ValueError(f'EnsembleProjector needs an integer num_projectors >= 1, got '
                             f'{num_projectors!r}')
        if not isinstance(projector, dict) or 'type' not in projector:
            raise ValueError(f'EnsembleProjector needs a projector config dict with a "type", '
                             f'e.g. dict(type="InvertedProjector"), got {projector!r}')
        unknown = sorted(set(kwargs) - set(MEMBER_KWARGS))
        if unknown:
            raise TypeError(f'EnsembleProjector got unexpected arguments {unknown}; it takes '
                            f'projector, num_projectors and {MEMBER_KWARGS}')
        clash = sorted(k for k in kwargs if k in projector and projector[k] != kwargs[k])
        if clash:
            raise ValueError('EnsembleProjector: ' + ', '.join(
                f'{k}={kwargs[k]!r} but projector.{k}={projector[k]!r}' for k in clash))
        member_cfg = copy.deepcopy(dict(projector))
        member_cfg.update(kwargs)
        in_channels = member_cfg.pop('in_channels', None)
        out_channels = member_cfg.pop('out_channels', None)
        # validates resize_to / resize_mode; builds nothing (no channels given)
        super().__init__(**{k: member_cfg[k] for k in MEMBER_KWARGS if k in member_cfg})
        members = []
        for _ in range(num_projectors):
            member = MODELS.build(dict(copy.deepcopy(member_cfg), in_channels=in_channels,
                                       out_channels=out_channels))
            if not isinstance(member, BaseProjector):
                raise TypeError(f'EnsembleProjector members must be BaseProjector subclasses, '
                                f'{member_cfg["type"]!r} built a {type(member).__name__}')
            members.append(member)
        sides = {m.projected_side for m in members}
        if len(sides) != 1:
            raise ValueError(f'EnsembleProjector members disagree on projected_side: {sides}')
        self.projector_cfg = member_cfg
        self.num_projectors = num_projectors
        self.projectors = nn.ModuleList(members)
        first = members[0]
        # expose the members' effective settings (a member type may have other defaults)
        self.in_channels, self.out_channels = first.in_channels, first.out_channels
        self.bias, self.resize_to = first.bias, first.resize_to
        self.resize_mode, self.align_corners = first.resize_mode, first.align_corners

    @property
    def members(self) -> nn.ModuleList:
        """The member projectors (an ``nn.ModuleList`` of ``num_projectors`` items)."""
        return self.projectors

    @property
    def projected_side(self) -> str:  # type: ignore[override]
        """The members' side: ``'teacher'`` (inverted) or ``'student'`` (traditional)."""
        return self.projectors[0].projected_side

    @property
    def is_built(self) -> bool:
        """Whether every member's weights exist."""
        return all(m.is_built for m in self.projectors)

    def build(self, in_channels: int, out_channels: int) -> None:
        """Build every member as ``in_channels -> out_channels`` (each with new weights)."""
        for m in self.projectors:
            m.build(in_channels, out_channels)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)

    @property
    def member_weight_matrices(self) -> Tensor:
        """The members' matrices stacked, (num_projectors, out_channels, in_channels).

        Raises:
            RuntimeError: when the members are not built yet.
        """
        return torch.stack([m.weight_matrix for m in self.projectors])

    @property
    def weight_matrix(self) -> Tensor:
        """The effective projection, mean of the members' matrices, (out_channels, in_channels).

        Raises:
            RuntimeError: when the members are not built yet.
        """
        return self.member_weight_matrices.mean(dim=0)

    def project(self, x: Tensor) -> Tensor:
        """Mean of the members' projections of a (B, C_in, H, W) map, (B, C_out, H, W)."""
        return torch.stack([m.project(x) for m in self.projectors]).mean(dim=0)

    def extra_repr(self) -> str:
        return (f'num_projectors={self.num_projectors}, '
                f'projected_side={self.projected_side!r}, ' + super().extra_repr())
