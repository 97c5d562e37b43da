"""The phonon work chain: exact against plain phonopy + ASE, symmetric with an unconstrained PET, on record."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import phonopy
import pytest
from aiida.engine import run_get_node
from aiida.orm import InstalledCode, Log, StructureData
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from phonopy import Phonopy

from aiida_unconmlip.engine.reference_potentials import TersoffSi1988
from aiida_unconmlip.engine.restoration import RESTORATION_OFF
from aiida_unconmlip.engine.warm import WARM_SECONDS_VARIABLE
from aiida_unconmlip.provenance import restoration_chain
from aiida_unconmlip.workflows.phonons import PhononWorkChain
from tests.helpers import ase_forces, phonopy_atoms


def plain_phonopy_frequencies(unitcell: Atoms, supercell_matrix, calculator, qpoints) -> np.ndarray:
    """What a phonopy user does by hand: +/- displacements of 0.01 A, ASE forces, force constants, frequencies."""
    phonon = Phonopy(
        phonopy_atoms(unitcell),
        supercell_matrix=supercell_matrix,
        primitive_matrix='auto',
    )
    phonon.generate_displacements(distance=0.01, is_plusminus=True)
    phonon.forces = ase_forces(phonon.supercells_with_displacements, calculator)
    phonon.produce_force_constants()
    return np.array([np.sort(phonon.get_frequencies(q)) for q in qpoints])


def run_phonons(code, structure, model, protocol='fast', relax=False, relax_overrides=None, **overrides):
    if relax_overrides:
        overrides['relax'] = relax_overrides
    builder = PhononWorkChain.get_builder_from_protocol(
        code, StructureData(ase=structure), model, protocol=protocol, relax=relax, overrides=overrides
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    return results, node


@pytest.mark.parametrize(
    ('model_name', 'structure', 'calculator'),
    [('emt', bulk('Cu', 'fcc', a=3.61), EMT()), ('tersoff-si-1988', bulk('Si', 'diamond', a=5.432), TersoffSi1988())],
    ids=['Cu-EMT', 'Si-Tersoff'],
)
def test_work_chain_equals_plain_phonopy_and_ase(engine_code, shipped_models, model_name, structure, calculator):
    results, _ = run_phonons(engine_code, structure, shipped_models[model_name])
    with results['phonopy_yaml'].as_path() as path:
        supercell_matrix = phonopy.load(path, produce_fc=False).supercell_matrix
    assert results['supercell_matrix'].get_list() == supercell_matrix.tolist()  # the run's output is phonopy's
    bands = results['band_structure']
    expected = plain_phonopy_frequencies(
        results['structure'].get_ase(), supercell_matrix, calculator, bands.get_kpoints()
    )
    np.testing.assert_allclose(np.sort(bands.get_bands(), axis=1), expected, atol=1e-4)
    diagnostics = results['diagnostics'].get_dict()
    assert max(abs(f) for f in diagnostics['gamma_acoustic_thz']) < 1e-3
    assert diagnostics['imaginary_modes']['count'] == 0


def test_phonopy_yaml_output_opens_with_phonopy_load(engine_code, shipped_models):
    results, _ = run_phonons(engine_code, bulk('Cu', 'fcc', a=3.61), shipped_models['emt'])
    with results['phonopy_yaml'].as_path() as path:
        phonon = phonopy.load(path)
    np.testing.assert_allclose(phonon.force_constants, results['force_constants'].get_array('force_constants'))
    thermal = results['thermal_properties']
    temperatures = thermal.get_x()[1]
    assert temperatures[0] == 0 and temperatures[-1] == 1000
    names, values, _ = zip(*thermal.get_y(), strict=True)
    heat_capacity = values[names.index('heat_capacity')]
    assert heat_capacity[-1] == pytest.approx(3 * 8.314462618, rel=0.02)  # Dulong-Petit, J/K/mol per atom


def test_restoration_makes_pet_phonons_symmetric_and_is_on_record(engine_code, default_model, record_property):
    model = default_model
    silicon = bulk('Si', 'diamond', a=5.43)
    restored, node = run_phonons(engine_code, silicon, model, protocol='moderate', relax=True)
    raw, _ = run_phonons(
        engine_code,
        silicon,
        model,
        protocol='moderate',
        relax=True,
        restoration=RESTORATION_OFF,
        displacements={'plus_minus': 'auto'},
    )
    restored_diagnostics = restored['diagnostics'].get_dict()
    raw_diagnostics = raw['diagnostics'].get_dict()
    record_property('diagnostics_restored', restored_diagnostics)
    record_property('diagnostics_raw', raw_diagnostics)
    print('restored:', restored_diagnostics, '\nraw:', raw_diagnostics)

    assert max(abs(f) for f in restored_diagnostics['gamma_acoustic_thz']) < 0.01
    for label in ('GAMMA', 'X', 'L'):
        assert restored_diagnostics['degenerate_splitting_thz'][label] < 1e-3
        assert restored_diagnostics['star_spread_thz'][label] < 1e-3
    assert restored_diagnostics['space_group'] == {'number': 227, 'symbol': 'Fd-3m'}
    assert restored_diagnostics['space_group_kept'] is True

    chain = restoration_chain(restored['band_structure'])
    assert [step.name for step in chain.steps] == [
        'fix_symmetry',
        'forces_mode',  # of the relaxation
        'forces_mode',  # of the evaluate job
        'space_group_projection',
        'net_force_removal',
        'force_constant_symmetrization',
    ]
    assert chain.model.pk == model.pk and chain.model.sha256 == model.sha256
    assert chain.structure.pk == node.inputs.structure.pk
    assert chain.steps[-1].effect['relative_change'] > 0


def test_chunks_are_evaluated_separately_and_merged_in_order(engine_code, shipped_models):
    structure = bulk('Cu', 'fcc', a=3.61)
    single, _ = run_phonons(engine_code, structure, shipped_models['emt'], displacements={'plus_minus': True})
    chunked, node = run_phonons(
        engine_code, structure, shipped_models['emt'], displacements={'plus_minus': True}, n_chunks=2
    )
    evaluations = sorted((c for c in node.called if c.process_label == 'EvaluateWorkChain'), key=lambda n: n.ctime)
    assert len(evaluations) == 2
    assert evaluations[0].mtime <= evaluations[1].ctime, 'on core.direct the chunks run one after the other'
    np.testing.assert_allclose(
        chunked['force_constants'].get_array('force_constants'),
        single['force_constants'].get_array('force_constants'),
        atol=1e-12,
    )


def test_unknown_override_is_refused(engine_code, shipped_models):
    with pytest.raises(ValueError, match='unknown override `displacement`'):
        PhononWorkChain.get_builder_from_protocol(
            engine_code, StructureData(ase=bulk('Cu')), shipped_models['emt'], overrides={'displacement': {}}
        )


def test_submitted_to_the_daemon(submit_and_await, engine_code, shipped_models):
    builder = PhononWorkChain.get_builder_from_protocol(
        engine_code, StructureData(ase=bulk('Cu', 'fcc', a=3.61)), shipped_models['emt'], protocol='fast'
    )
    node = submit_and_await(builder, timeout=300)
    assert node.is_finished_ok, node.exit_message
    assert node.outputs.diagnostics['space_group'] == {'number': 225, 'symbol': 'Fm-3m'}


def test_verdi_run_of_the_documented_script(
    started_daemon_client, aiida_profile, engine_code, shipped_models, tmp_path
):
    from aiida.manage.configuration import get_config

    assert engine_code.full_label == 'unconmlip-engine@localhost'
    env = {**os.environ, 'AIIDA_PATH': str(Path(get_config().dirpath).parent)}
    script = Path(__file__).resolve().parents[2] / 'docs' / 'examples' / 'silicon_phonons.py'
    result = subprocess.run(
        [Path(sys.executable).parent / 'verdi', '-p', aiida_profile.name, 'run', script, 'tersoff-si-1988', 'fast'],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'space group: Fd-3m (227)' in result.stdout
    assert (tmp_path / 'silicon-phonons.png').stat().st_size > 10_000


def test_random_displacements_with_symfc_agree_with_finite_displacements(engine_code, shipped_models):
    structure = bulk('Cu', 'fcc', a=3.61)
    standard, _ = run_phonons(engine_code, structure, shipped_models['emt'])
    random, node = run_phonons(
        engine_code,
        structure,
        shipped_models['emt'],
        displacements={'random_snapshots': 4, 'random_seed': 1, 'amplitude': 0.01},
        force_constants={'method': 'symfc'},
    )
    np.testing.assert_allclose(
        np.sort(random['band_structure'].get_bands(), axis=1),
        np.sort(standard['band_structure'].get_bands(), axis=1),
        atol=0.05,
    )
    # The random displacements are phonopy's own for that seed, though the supercell's symmetry was not searched.
    with random['phonopy_yaml'].as_path() as path:
        recorded = phonopy.load(path, produce_fc=False)
    plain = Phonopy(recorded.unitcell, supercell_matrix=recorded.supercell_matrix, primitive_matrix='auto')
    plain.generate_displacements(distance=0.01, number_of_snapshots=4, random_seed=1, is_plusminus=True)
    assert len(recorded.displacements) == 8
    np.testing.assert_allclose(recorded.displacements, plain.displacements, atol=1e-12)
    # symfc's force constants are already symmetric: the projector the step stands for leaves them as they are.
    phonopy_job = next(child for child in node.called if child.process_label == 'PhonopyCalculation')
    effect = phonopy_job.outputs.restoration_steps.force_constant_symmetrization['effect']
    assert effect == {'relative_change': 0.0, 'symmetric_by_fit': True}
    reports = [log.message for log in Log.collection.get_logs_for(node)]
    assert any('done by the symfc fit' in message for message in reports), reports
    with random['phonopy_yaml'].as_path() as path:
        fitted = phonopy.load(path)
    before = fitted.force_constants.copy()
    fitted.symmetrize_force_constants(show_drift=False, use_symfc_projector=True)
    assert np.linalg.norm(fitted.force_constants - before) < 1e-12 * np.linalg.norm(before)


def test_a_code_with_a_warm_engine_gives_the_same_phonons(engine_code, shipped_models, private_warm_engines):
    """The jobs of a run on a code that asks for a warm engine process (as ``aiida-unconmlip setup``'s does) run in one
    such process, with the results of jobs that each start their own."""
    warm_code = InstalledCode(
        computer=engine_code.computer,
        filepath_executable=str(engine_code.filepath_executable),
        label='unconmlip-engine-warm',
        prepend_text=f'export {WARM_SECONDS_VARIABLE}=60',
    ).store()
    copper = bulk('Cu', 'fcc', a=3.62)
    cold, _ = run_phonons(engine_code, copper, shipped_models['emt'], relax=True)
    warm, _ = run_phonons(warm_code, copper, shipped_models['emt'], relax=True)
    np.testing.assert_array_equal(
        warm['force_constants'].get_array('force_constants'), cold['force_constants'].get_array('force_constants')
    )
    np.testing.assert_array_equal(warm['band_structure'].get_bands(), cold['band_structure'].get_bands())
    log = ''.join(path.read_text() for path in private_warm_engines.glob('unconmlip-engine-*/*.log'))
    assert log.count('exit status 0') == 3, log  # the relax, evaluate and phonopy jobs, in one warm process
