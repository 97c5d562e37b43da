"""Quadrature over rotations for the rotational average.

Rotations are R = Rz(alpha) Ry(beta) Rz(gamma): (alpha, beta) are the points of the smallest Lebedev grid of
degree >= l_max, gamma takes 2 l_max + 1 equally spaced values. This integrates every Wigner-D function up to
degree l_max exactly, so the average of a model output over the grid is exactly equivariant in its
components up to l_max. With inversion each rotation also appears as -R (improper), at half the weight.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RotationQuadrature:
    """Orthogonal matrices ``rotations`` (K, 3, 3) with positive ``weights`` (K,) summing to one."""

    rotations: np.ndarray
    weights: np.ndarray
    lebedev_degree: int

    def __len__(self) -> int:
        return len(self.weights)


def _rz(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(angle), np.ones_like(angle)
    return np.stack([np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1), np.stack([zero, zero, one], -1)], -2)


def _ry(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(angle), np.ones_like(angle)
    return np.stack([np.stack([c, zero, s], -1), np.stack([zero, one, zero], -1), np.stack([-s, zero, c], -1)], -2)


def lebedev_grid(min_degree: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Unit vectors (M, 3) and weights summing to one of the smallest Lebedev rule of degree >= min_degree."""
    from scipy.integrate import lebedev_rule  # 0.4 s of import, paid only by jobs that average

    degree = max(3, min_degree + (min_degree % 2 == 0))
    while True:
        try:
            points, weights = lebedev_rule(degree)
            return points.T, weights / weights.sum(), degree
        except ValueError:  # scipy offers only some odd degrees
            degree += 2


@functools.cache
def rotation_quadrature(l_max: int, inversion: bool = False) -> RotationQuadrature:
    """The quadrature for ``l_max``; ``l_max = 0`` is the identity alone (no averaging). Built once per process and
    shared (its arrays read-only): the job's records and the evaluation use the same one."""
    if l_max == 0:
        rotations, weights, degree = np.eye(3)[None], np.ones(1), 0
    else:
        points, sphere_weights, degree = lebedev_grid(l_max)
        alpha = np.arctan2(points[:, 1], points[:, 0])
        beta = np.arccos(np.clip(points[:, 2], -1.0, 1.0))
        gamma = 2 * np.pi * np.arange(2 * l_max + 1) / (2 * l_max + 1)
        outer = _rz(alpha) @ _ry(beta)
        rotations = (outer[:, None] @ _rz(gamma)[None]).reshape(-1, 3, 3)
        weights = np.repeat(sphere_weights, len(gamma)) / len(gamma)
    if inversion:
        rotations = np.concatenate([rotations, -rotations])
        weights = np.concatenate([weights, weights]) / 2
    rotations.setflags(write=False)
    weights.setflags(write=False)
    return RotationQuadrature(rotations=rotations, weights=weights, lebedev_degree=degree)
