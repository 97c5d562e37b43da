"""The rotation quadrature integrates low-degree functions of the rotation exactly."""

import numpy as np
import pytest

from aiida_unconmlip.engine.rotations import rotation_quadrature


@pytest.mark.parametrize(
    ('l_max', 'inversion', 'count'), [(0, False, 1), (1, False, 18), (3, False, 42), (3, True, 84)]
)
def test_quadrature_size_and_weights(l_max, inversion, count):
    quadrature = rotation_quadrature(l_max, inversion)
    assert len(quadrature) == count
    assert quadrature.weights.sum() == pytest.approx(1.0, abs=1e-14)
    assert np.all(quadrature.weights > 0)
    products = np.einsum('kij,kil->kjl', quadrature.rotations, quadrature.rotations)
    np.testing.assert_allclose(products, np.broadcast_to(np.eye(3), products.shape), atol=1e-13)


@pytest.mark.parametrize('l_max', [1, 2, 3, 5])
def test_quadrature_averages_rotated_vectors_like_the_haar_measure(l_max):
    """Averages of degree <= l_max in R: <R v> = 0, <(Rv)(Rv)^T> = I/3, third moments vanish."""
    quadrature = rotation_quadrature(l_max)
    vector = np.array([0.3, -0.5, 0.81])
    vector /= np.linalg.norm(vector)
    rotated = quadrature.rotations @ vector
    weights = quadrature.weights
    np.testing.assert_allclose(weights @ rotated, 0.0, atol=1e-13)
    if l_max >= 2:
        second = np.einsum('k,ki,kj->ij', weights, rotated, rotated)
        np.testing.assert_allclose(second, np.eye(3) / 3, atol=1e-13)
    if l_max >= 3:
        third = np.einsum('k,ki,kj,kl->ijl', weights, rotated, rotated, rotated)
        np.testing.assert_allclose(third, 0.0, atol=1e-13)


def test_inversion_adds_improper_rotations():
    quadrature = rotation_quadrature(2, inversion=True)
    determinants = np.linalg.det(quadrature.rotations)
    assert np.sum(determinants < 0) == np.sum(determinants > 0) == len(quadrature) // 2
