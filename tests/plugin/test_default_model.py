"""The shipped default model: trained on the project's own DFT, judged against it, traceable back to pw.x."""

import numpy as np
import pytest
from aiida.engine import run_get_node
from aiida.orm import CalcJobNode, QueryBuilder, StructureData, WorkChainNode
from aiida_pseudo.data.pseudo import UpfData
from ase.build import bulk

from aiida_unconmlip.data import ModelData
from aiida_unconmlip.engine.accuracy import prediction_errors
from aiida_unconmlip.engine.potentials import load_potential
from aiida_unconmlip.models.recipes.default_model import reference_workchain
from aiida_unconmlip.provenance import model_origin
from aiida_unconmlip.summaries import labelled_frequencies
from aiida_unconmlip.workflows.phonons import PhononWorkChain
from aiida_unconmlip.workflows.relax import RelaxWorkChain


@pytest.fixture
def dft_reference(default_model) -> dict[str, WorkChainNode]:
    """The reference runs that came into the profile with the default model's provenance archive."""
    return {label: reference_workchain(label) for label in ('silicon-reference-set', 'silicon-dfpt-reference')}


def test_default_is_an_unconstrained_pet_with_both_force_heads(default_model):
    assert default_model.model_backend == 'metatomic'
    assert default_model.elements == ['Si']
    assert default_model.capabilities['direct_forces'] is True
    assert default_model.creator.process_type == 'aiida.calculations:unconmlip.train'


def test_provenance_reaches_pw_and_the_pseudopotential(default_model):
    query = QueryBuilder().append(ModelData, filters={'id': default_model.pk}, tag='model')
    query.append(CalcJobNode, with_descendants='model', filters={'process_type': {'like': '%quantumespresso.pw'}})
    query.append(UpfData, with_outgoing=CalcJobNode, project=['attributes.element', 'attributes.filename'])
    assert query.distinct().all() == [['Si', 'Si.pbe-rrkj.UPF']]

    origin = model_origin(default_model)
    assert origin['training_job'] == default_model.creator.pk
    assert origin['dft_calculations'] >= 130
    assert [(p['element'], p['filename']) for p in origin['pseudopotentials']] == [('Si', 'Si.pbe-rrkj.UPF')]


def test_test_set_errors_are_within_the_targets(default_model, dft_reference, record_property):
    """Energies per atom and force components of the held-out test frames against the DFT labels."""
    training_set = dft_reference['silicon-reference-set'].outputs.training_set
    frames = [frame for frame in training_set.get_frames() if frame.info['split'] == 'test']
    with default_model.as_path() as path:
        errors = prediction_errors(load_potential(path, 'metatomic', device='cpu', dtype='float64'), frames)
    record_property('test_set_errors', errors)
    assert len(frames) >= 10
    assert errors['energy_mev_per_atom_rmse'] <= 5.0
    assert errors['forces_mev_per_a_rmse'] <= 20.0


def test_diamond_relaxes_to_the_dft_lattice_constant(engine_code, default_model, dft_reference):
    builder = RelaxWorkChain.get_builder_from_protocol(
        engine_code, StructureData(ase=bulk('Si', 'diamond', a=5.40, cubic=True)), default_model, protocol='moderate'
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    lattice_constant = results['relaxed_structure'].get_ase().cell.lengths()[0]
    dft = (4 * dft_reference['silicon-dfpt-reference'].outputs.relaxed_structure.get_cell_volume()) ** (1 / 3)
    assert lattice_constant == pytest.approx(dft, rel=2e-3)


def test_phonons_at_gamma_x_l_match_dfpt(engine_code, default_model, dft_reference, record_property):
    """Mean absolute error over Gamma (optical), X and L after force-constant symmetrization, against ph.x.

    Measured: 0.141 THz (Gamma optical 14.92 against 14.56, the lowest L mode 3.10 against 3.37), inside the
    0.15 THz asked for; docs/default-model.rst records how it got there and what is left.
    """
    builder = PhononWorkChain.get_builder_from_protocol(
        engine_code, StructureData(ase=bulk('Si', 'diamond', a=5.475)), default_model, protocol='moderate'
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    model = labelled_frequencies(results['band_structure'])
    dfpt = dft_reference['silicon-dfpt-reference'].outputs.frequencies['frequencies_thz']
    errors = []
    for label in ('GAMMA', 'X', 'L'):
        first = 3 if label == 'GAMMA' else 0  # the acoustic modes at Gamma are zero by construction
        errors.extend(np.abs(np.array(model[label][first:]) - np.array(sorted(dfpt[label])[first:])))
    record_property('phonon_mae_thz', float(np.mean(errors)))
    assert len(errors) == 15
    assert np.mean(errors) <= 0.15
