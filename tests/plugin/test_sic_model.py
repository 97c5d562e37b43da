"""The shipped SiC model: a polar, two-element crystal from DFT (with Born charges from ph.x) through training to
phonons with the non-analytical correction, judged against the project's own DFPT in two polytypes."""

import numpy as np
import pytest
from aiida.engine import run_get_node
from aiida.orm import StructureData
from ase.build import bulk

from aiida_unconmlip.models.recipes.default_model import reference_workchain
from aiida_unconmlip.phonons.nac import cubic_lo_frequency
from aiida_unconmlip.phonons.phonopy_setup import from_yaml_text
from aiida_unconmlip.provenance import born_charges_origin, model_origin
from aiida_unconmlip.summaries import labelled_frequencies
from aiida_unconmlip.workflows.phonons import PhononWorkChain

# The tolerances the Si model's phonon tests hold (tests/plugin/test_phonons.py).
SPLITTING_THZ = 1e-3
GAMMA_ACOUSTIC_THZ = 1e-3


@pytest.fixture
def sic_model(shipped_models):
    return shipped_models['pet-sic-pbe']


def sic_phonons(code, model, atoms, dfpt_label: str):
    """The moderate phonon protocol (relaxation with FixSymmetry first) with the DFPT run's Born charges."""
    builder = PhononWorkChain.get_builder_from_protocol(code, StructureData(ase=atoms), model, protocol='moderate')
    builder.born_charges = reference_workchain(dfpt_label).outputs.born_charges
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    return results


def gamma(results, direction) -> np.ndarray:
    """Sorted optical frequencies at Gamma (THz): phonopy's analytic part without a direction, else the LO along it."""
    phonon = from_yaml_text(results['phonopy_yaml'].get_content(), nac=True)
    phonon.run_qpoints([[0, 0, 0]], nac_q_direction=direction)
    return np.sort(phonon.get_qpoints_dict()['frequencies'][0])[3:], phonon


def assert_symmetric(diagnostics: dict, space_group: int) -> None:
    assert diagnostics['space_group']['number'] == space_group and diagnostics['space_group_kept']
    assert max(abs(f) for f in diagnostics['gamma_acoustic_thz']) < GAMMA_ACOUSTIC_THZ
    assert max(diagnostics['degenerate_splitting_thz'].values()) < SPLITTING_THZ


def test_provenance_reaches_pw_for_both_elements_and_ph_for_the_charges(sic_model):
    origin = model_origin(sic_model)
    assert origin['dft_calculations'] >= 90
    assert {(p['element'], p['filename']) for p in origin['pseudopotentials']} == {
        ('Si', 'Si.pbe-rrkj.UPF'),
        ('C', 'C.pbe-rrkjus.UPF'),
    }
    assert sic_model.elements == ['C', 'Si']


def test_cubic_phonons_with_nac_match_dfpt(engine_code, sic_model, record_property):
    """3C-SiC: Gamma TO and LO, X and L within 0.25 THz (mean absolute error) of DFPT, the LO-TO splitting within
    0.3 THz of DFPT's; DFPT's LO is its TO with the same charges' correction (cubic_lo_frequency)."""
    results = sic_phonons(engine_code, sic_model, bulk('SiC', 'zincblende', a=4.38), 'silicon-carbide-3c-dfpt')
    assert_symmetric(results['diagnostics'].get_dict(), 216)
    dfpt_run = reference_workchain('silicon-carbide-3c-dfpt')
    dfpt = {label: sorted(values) for label, values in dfpt_run.outputs.frequencies['frequencies_thz'].items()}
    model_gamma, phonon = gamma(results, [1.0, 0.0, 0.0])
    charge, epsilon = phonon.nac_params['born'][0][0][0], phonon.nac_params['dielectric'][0][0]
    dfpt_volume = dfpt_run.outputs.relaxed_structure.get_ase().get_volume()
    dfpt_to = dfpt['GAMMA'][3]
    dfpt_lo = cubic_lo_frequency(dfpt_to, charge, epsilon, dfpt_volume, tuple(phonon.primitive.masses))
    bands = labelled_frequencies(results['band_structure'])
    errors = np.abs(np.concatenate([model_gamma - [dfpt_to, dfpt_to, dfpt_lo], *(
        np.array(bands[label]) - dfpt[label] for label in ('X', 'L')
    )]))  # fmt: skip
    splitting = model_gamma[2] - model_gamma[0]
    record_property('phonon_mae_thz', float(errors.mean()))
    record_property('lo_to_splitting_thz', {'model': float(splitting), 'dfpt': dfpt_lo - dfpt_to})
    assert len(errors) == 15
    assert errors.mean() <= 0.25
    assert abs(splitting - (dfpt_lo - dfpt_to)) <= 0.3
    assert splitting > 2  # THz: the correction is on (about 3 THz in SiC)
    origin = born_charges_origin(results['band_structure'])
    assert origin['ph_calculations'] and origin['pseudopotentials']


def test_hexagonal_polytype_keeps_its_space_group_and_matches_dfpt_at_gamma(engine_code, sic_model, record_property):
    """2H-SiC (P6_3mc): every optical frequency at Gamma (without the correction's direction, as ph.x gives them)
    within 0.3 THz of DFPT."""
    results = sic_phonons(engine_code, sic_model, bulk('SiC', 'wurtzite', a=3.09, c=5.07), 'silicon-carbide-2h-dfpt')
    assert_symmetric(results['diagnostics'].get_dict(), 186)
    dfpt = sorted(reference_workchain('silicon-carbide-2h-dfpt').outputs.frequencies['frequencies_thz']['GAMMA'])[3:]
    model_gamma, _ = gamma(results, None)
    errors = np.abs(model_gamma - dfpt)
    record_property('gamma_errors_thz', errors.tolist())
    assert len(errors) == 9
    assert errors.max() <= 0.3
