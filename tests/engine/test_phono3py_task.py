"""The engine's phono3py task on its own: the folder contract, its refusals, and the residual-force subtraction."""

import json

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from aiida_unconmlip.conductivity.parameters import parse_kappa_displacements
from aiida_unconmlip.conductivity.phono3py_setup import (
    Layout,
    generate_displacements,
    make_phono3py,
    subtract_residual_forces,
    supercell_matrices,
    to_yaml_text,
)
from aiida_unconmlip.engine.__main__ import main
from aiida_unconmlip.engine.errors import EXIT_ENGINE_ERROR
from aiida_unconmlip.engine.io import ERROR_FILE, RESULTS_FILE
from aiida_unconmlip.engine.phono3py_task import write_phono3py_job


@pytest.fixture(scope='module')
def copper_job():
    """EMT forces of copper's fc3 displacements (and fc2 in its own supercell, undisplaced supercells appended)."""
    values = parse_kappa_displacements({'min_length': 7.0, 'fc2_min_length': 10.0, 'subtract_residual_forces': True})
    unitcell = bulk('Cu', 'fcc', a=3.61, cubic=True)
    ph3 = make_phono3py(unitcell, *supercell_matrices(unitcell, values, 1e-5), 1e-5)
    supercells, layout = generate_displacements(ph3, values)
    forces = []
    for atoms in supercells:
        atoms.calc = EMT()
        forces.append(atoms.get_forces())
    return to_yaml_text(ph3), forces, layout


def request(layout: Layout) -> dict:
    return {
        'symprec': 1e-5,
        'layout': layout.as_dict(),
        'conductivity': {'mesh': [5, 5, 5], 'temperatures': [300.0], 'smearing_thz': 0.1},
        'force_constant_symmetrization': True,
    }


def test_the_task_writes_kappa_and_phono3py_files(copper_job, tmp_path):
    setup, forces, layout = copper_job
    assert layout.fc2 > 0 and layout.reference_fc3 and layout.reference_fc2
    write_phono3py_job(tmp_path, setup, subtract_residual_forces(forces, layout), request(layout))
    assert main([str(tmp_path)]) == 0
    with np.load(tmp_path / RESULTS_FILE) as results:
        kappa = results['kappa']
    assert kappa.shape == (1, 6) and kappa[0, 0] > 1
    np.testing.assert_allclose(kappa[0, :3], kappa[0, 0], rtol=1e-8)
    for name in ('phono3py_params.yaml', 'fc2.hdf5', 'fc3.hdf5'):
        assert (tmp_path / name).stat().st_size > 0
    report = json.loads((tmp_path / 'report.json').read_text())
    assert report['restoration_steps'][0]['name'] == 'force_constant_symmetrization'
    assert report['diagnostics']['displacements'] == layout.as_dict()


@pytest.mark.parametrize(
    ('change', 'message'),
    [
        (lambda job: job['phono3py'].pop('layout'), 'lacks layout'),
        (lambda job: job['phono3py']['conductivity'].update(method='exact'), 'conductivity.method must be one of'),
        (lambda job: job['phono3py']['layout'].update(fc3=1), 'force arrays for'),
    ],
    ids=['missing-key', 'bad-method', 'forces-do-not-match-the-layout'],
)
def test_bad_jobs_are_refused_with_what_is_wrong(copper_job, tmp_path, change, message):
    setup, forces, layout = copper_job
    write_phono3py_job(tmp_path, setup, forces, request(layout))
    job = json.loads((tmp_path / 'job.json').read_text())
    change(job)
    (tmp_path / 'job.json').write_text(json.dumps(job))
    assert main([str(tmp_path)]) == EXIT_ENGINE_ERROR
    error = json.loads((tmp_path / ERROR_FILE).read_text())
    assert error['code'] == 'INVALID_JOB' and message in error['message']


def test_residual_forces_are_subtracted_from_their_own_set_only():
    rng = np.random.default_rng(0)
    layout = Layout(fc3=3, fc2=2, reference_fc3=True, reference_fc2=True)
    forces = [rng.normal(size=(4, 3)) for _ in range(3)] + [rng.normal(size=(9, 3)) for _ in range(2)]
    forces += [rng.normal(size=(4, 3)), rng.normal(size=(9, 3))]
    subtracted = subtract_residual_forces(forces, layout)
    for index in range(3):
        np.testing.assert_array_equal(subtracted[index], forces[index] - forces[5])
    for index in (3, 4):
        np.testing.assert_array_equal(subtracted[index], forces[index] - forces[6])
    assert not subtracted[5].any() and not subtracted[6].any()
