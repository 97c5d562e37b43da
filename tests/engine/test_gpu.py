"""On a CUDA device the engine gives what it gives on the CPU, batched as a GPU batches (skipped without one)."""

import numpy as np
import pytest
from ase.build import bulk

from aiida_unconmlip.engine import Restoration, evaluate_structures, load_potential
from aiida_unconmlip.models import default_model_name, shipped_model

pytestmark = pytest.mark.gpu


def test_the_default_model_on_cuda_equals_the_cpu():
    model = shipped_model(default_model_name())
    structures = []
    for seed, repetitions in enumerate((1, 2, 2, 3)):
        atoms = bulk('Si', 'diamond', a=5.431, cubic=True).repeat(repetitions)
        atoms.rattle(0.03, seed=seed)
        structures.append(atoms)
    results = {
        device: evaluate_structures(
            load_potential(model.path, 'metatomic', model.sha256, device=device, dtype='float64'),
            structures,
            Restoration(l_max=2, inversion=True),
        )
        for device in ('cpu', 'cuda')
    }
    assert results['cuda'].timing['device'].startswith('cuda')
    np.testing.assert_allclose(results['cuda'].energies, results['cpu'].energies, rtol=0, atol=1e-8)
    for on_gpu, on_cpu in zip(results['cuda'].forces, results['cpu'].forces, strict=True):
        np.testing.assert_allclose(on_gpu, on_cpu, rtol=0, atol=1e-8)
    np.testing.assert_allclose(results['cuda'].stresses, results['cpu'].stresses, rtol=0, atol=1e-9)
