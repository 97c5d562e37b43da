"""The speed-ups that lean on upstream internals: each still finds what it relies on in the installed versions (an
upgrade fails here, by name), and ``UNCONMLIP_SPEEDUPS`` switches each one off."""

import importlib
import inspect
import re
from importlib import metadata

import numpy as np
import pytest
from ase.build import bulk

from aiida_unconmlip.speedups import NAMES, SPEEDUPS, SWITCH_VARIABLE, enabled, switched_off
from aiida_unconmlip.symmetry.space_group import space_group_operations


def upstream_name_exists(reference: str) -> bool:
    """``module:Class.attribute``: the attribute on the class, or assigned as ``self.attribute`` in its code."""
    module_name, _, path = reference.partition(':')
    target = importlib.import_module(module_name)
    *owners, attribute = path.split('.')
    for owner in owners:
        target = getattr(target, owner, None)
        if target is None:
            return False
    if hasattr(target, attribute):
        return True
    return inspect.isclass(target) and re.search(rf'\bself\.{attribute}\b', inspect.getsource(target)) is not None


@pytest.mark.parametrize('speedup', SPEEDUPS, ids=lambda speedup: speedup.name)
def test_each_speedup_was_read_against_the_installed_upstream(speedup):
    for distribution, prefix in speedup.audited:
        installed = metadata.version(distribution)
        assert installed.startswith(prefix), (
            f'{speedup.name} ({speedup.module}) was read against {distribution} {prefix}*, and {installed} is '
            f'installed: read its use of {", ".join(speedup.relies_on)} again, then update aiida_unconmlip/speedups.py'
        )
    missing = [reference for reference in speedup.relies_on if not upstream_name_exists(reference)]
    assert not missing, f'{speedup.name} ({speedup.module}) relies on what is gone upstream: {missing}'
    importlib.import_module(speedup.module)


def test_the_private_hook_of_the_gpu_directive_is_still_there():
    """calcjobs/base.py adds the GPU request in CalcJob._setup_inputs, which aiida-core does not promise."""
    from aiida.engine import CalcJob
    from aiida.engine.processes.process import Process

    assert '_setup_inputs' in vars(CalcJob) and 'self._setup_inputs()' in inspect.getsource(Process._setup_db_record)


def test_the_switch_turns_speedups_off_and_refuses_what_it_does_not_know(monkeypatch):
    assert switched_off('') == switched_off('all') == frozenset()
    assert switched_off('none') == frozenset(NAMES)
    assert switched_off('-local_jobs, -warm_engine') == {'local_jobs', 'warm_engine'}
    with pytest.raises(ValueError, match='local_job not understood'):
        switched_off('-local_job')
    monkeypatch.setenv(SWITCH_VARIABLE, '-no_symmetry_proof')
    assert not enabled('no_symmetry_proof') and enabled('local_jobs')


def test_without_the_proof_of_no_symmetry_spglib_finds_the_same_p1(monkeypatch):
    atoms = bulk('Si', 'diamond', a=5.431, cubic=True).repeat(2)
    atoms.positions += np.random.default_rng(7).normal(scale=0.02, size=atoms.positions.shape)
    proven = space_group_operations(atoms, 1e-5)
    monkeypatch.setenv(SWITCH_VARIABLE, '-no_symmetry_proof')
    searched = space_group_operations(atoms, 1e-5)
    assert proven.number == searched.number == 1 and len(searched.rotations) == 1
    np.testing.assert_array_equal(proven.atom_maps, searched.atom_maps)
