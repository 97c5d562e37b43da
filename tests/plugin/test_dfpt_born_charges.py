"""Born charges and the dielectric tensor of 3C-SiC from ph.x inside AiiDA (a tiny real run), parsed as ph.x prints
them, made to obey the acoustic sum rule, and reached by a provenance query from the phonon run that used them."""

import re

import numpy as np
import pytest
from aiida.engine import run_get_node
from aiida.orm import Bool, Dict, QueryBuilder, StructureData, WorkflowNode
from aiida_pseudo.data.pseudo import UpfData
from aiida_quantumespresso.calculations.ph import PhCalculation
from ase.build import bulk

from aiida_unconmlip.data import BornChargesData
from aiida_unconmlip.dft.codes import ensure_dft_codes, ensure_pseudo_family
from aiida_unconmlip.models.resolve import resolve_model
from aiida_unconmlip.phonons.nac import NacRequest, apply_nac
from aiida_unconmlip.phonons.phonopy_setup import make_phonopy, standardize
from aiida_unconmlip.provenance import born_charges_origin, restoration_chain
from aiida_unconmlip.workflows.dfpt_reference import DfptReferenceWorkChain
from aiida_unconmlip.workflows.phonons import PhononWorkChain

SIC = bulk('SiC', 'zincblende', a=4.38)


def printed_tensors(stdout: str) -> tuple[np.ndarray, np.ndarray]:
    """The dielectric tensor and the effective charges (d Force / dE) as ph.x 6.7 prints them for an electric field
    alone (``trans`` off: one block, without ph.x's own acoustic sum rule)."""
    number = r'(-?\d+\.\d+)'
    row = rf'\(\s*{number}\s+{number}\s+{number}\s*\)'
    dielectric_block = stdout.split('Dielectric constant in cartesian axis')[1]
    dielectric = np.array(re.findall(row, dielectric_block)[:3], dtype=float)
    charges_block = stdout.split('Effective charges (d Force / dE) in cartesian axis')[1].split('PHONON')[0]
    charges = np.array(re.findall(rf'E[xyz]\s+{row}', charges_block), dtype=float).reshape(-1, 3, 3)
    return dielectric, charges


@pytest.fixture
def dft_codes(aiida_localhost):
    ensure_pseudo_family()
    return ensure_dft_codes(aiida_localhost)


def test_sic_born_charges_from_ph_x_reach_a_phonon_run(dft_codes, engine_code, shipped_models):
    builder = DfptReferenceWorkChain.get_builder_from_reference_protocol(
        dft_codes['pw'], dft_codes['ph'], StructureData(ase=SIC), ensure_pseudo_family().label, protocol='fast'
    )
    builder.relax = Bool(False)
    builder.qpoints = Dict({'GAMMA': [0.0, 0.0, 0.0]})
    builder.dielectric = Bool(True)
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    charges = results['born_charges']
    assert isinstance(charges, BornChargesData)

    ph_runs = [run for run in node.called_descendants if run.process_class is PhCalculation]
    field_run = next(run for run in ph_runs if run.inputs.parameters['INPUTPH'].get('epsil'))
    with field_run.outputs.retrieved.open('aiida.out') as handle:
        dielectric, printed = printed_tensors(handle.read())
    np.testing.assert_allclose(charges.get_array('dielectric'), dielectric, atol=1e-6)
    np.testing.assert_allclose(charges.get_array('born'), printed, atol=1e-4)  # ph.x prints 5 decimals
    # zincblende: isotropic charges of opposite sign; ph.x's own residual is what the sum rule removes
    born = charges.get_array('born')
    assert born[0, 0, 0] > 2 and born[1, 0, 0] < -2

    phonon = make_phonopy(standardize(SIC, 1e-5)[0], np.eye(3, dtype=int), 1e-5)
    record = apply_nac(phonon, NacRequest(charges.get_charges(), 'gonze'), 1e-5)
    np.testing.assert_allclose(phonon.nac_params['born'].sum(axis=0), 0, atol=1e-12)
    assert record.effect['born_sum_rule_residual'] == pytest.approx(np.abs(printed.sum(axis=0)).max(), abs=1e-4)
    for tensor in phonon.nac_params['born']:
        np.testing.assert_allclose(tensor, tensor[0, 0] * np.eye(3), atol=1e-12)

    lennard_jones = resolve_model('ase:ase.calculators.lj.LennardJones')
    phonons = PhononWorkChain.get_builder_from_protocol(
        engine_code, StructureData(ase=SIC), lennard_jones, protocol='fast', relax=False
    )
    phonons.born_charges = charges
    _, run = run_get_node(phonons)
    assert run.is_finished_ok, run.exit_message
    assert [step.name for step in restoration_chain(run).steps][-1] == 'non_analytical_correction'
    origin = QueryBuilder().append(WorkflowNode, filters={'id': run.pk}, tag='run')
    origin.append(BornChargesData, with_outgoing='run', tag='charges', filters={'id': charges.pk})
    origin.append(PhCalculation, with_descendants='charges', tag='ph')
    origin.append(UpfData, with_descendants='ph', project='attributes.element')
    assert {'Si', 'C'} <= set(origin.all(flat=True))
    shown = born_charges_origin(run)
    assert shown['pk'] == charges.pk and shown['created_by'].startswith('born_charges_from_ph<')
    assert field_run.pk in shown['ph_calculations']
    assert {pseudo['filename'] for pseudo in shown['pseudopotentials']} >= {'Si.pbe-rrkj.UPF', 'C.pbe-rrkjus.UPF'}
