"""The committed DFT reference data: its content and a provenance that reaches pw.x and the pseudopotential."""

from pathlib import Path

import numpy as np
import pytest
from aiida.orm import CalcJobNode, Dict, QueryBuilder, WorkChainNode, load_node
from aiida.tools.archive import import_archive
from aiida_pseudo.data.pseudo import UpfData

import aiida_unconmlip.models
from aiida_unconmlip.data.training_set import TrainingSetData

ARCHIVE = Path(aiida_unconmlip.models.__file__).parent / 'archives' / 'silicon-dft-reference.aiida'


@pytest.fixture(scope='module')
def reference_data(aiida_profile):
    import_archive(ARCHIVE)
    runs = {}
    for label in ('silicon-reference-set', 'silicon-dfpt-reference'):
        runs[label] = QueryBuilder().append(WorkChainNode, filters={'label': label}).one()[0]
    return runs


def test_training_set_content_and_split(reference_data):
    training_set = reference_data['silicon-reference-set'].outputs.training_set
    frames = training_set.get_frames()
    assert len(frames) == training_set.base.attributes.get('count') >= 130
    assert {len(frame) for frame in frames} == {8, 16}
    split = training_set.split
    assert sorted(split['train'] + split['validation'] + split['test']) == list(range(len(frames)))
    assert len(split['test']) >= 10
    for frame in frames:
        assert np.abs(frame.arrays['forces'].sum(axis=0)).max() < 1e-2  # DFT forces have (almost) no net force
        assert np.allclose(frame.info['stress'], frame.info['stress'].T, atol=1e-8)


def test_every_frame_traces_back_to_pw_and_the_pseudopotential(reference_data):
    training_set = reference_data['silicon-reference-set'].outputs.training_set
    calculations = {frame.info['dft_calculation'] for frame in training_set.get_frames()}
    for uuid in list(calculations)[:5]:
        node = load_node(uuid)
        assert isinstance(node, CalcJobNode) and node.process_type.endswith('quantumespresso.pw')
    pseudos = QueryBuilder().append(TrainingSetData, filters={'id': training_set.pk}, tag='set')
    pseudos.append(UpfData, with_descendants='set', project=['attributes.element', 'attributes.filename'])
    assert pseudos.distinct().all() == [['Si', 'Si.pbe-rrkj.UPF']]


def test_dfpt_reference_frequencies(reference_data):
    frequencies = reference_data['silicon-dfpt-reference'].outputs.frequencies
    assert isinstance(frequencies, Dict)
    values = frequencies['frequencies_thz']
    assert set(values) == {'GAMMA', 'X', 'L'}
    assert values['GAMMA'][-1] == pytest.approx(14.56, abs=0.05)
    assert values['X'][0] == pytest.approx(values['X'][1])  # transverse acoustic pair degenerate at X
    fcc_primitive = reference_data['silicon-dfpt-reference'].outputs.relaxed_structure
    assert (4 * fcc_primitive.get_cell_volume()) ** (1 / 3) == pytest.approx(5.475, abs=0.01)


ANHARMONIC_ARCHIVE = ARCHIVE.parent / 'silicon-anharmonic-reference.aiida'


@pytest.fixture(scope='module')
def anharmonic_set(reference_data):
    import_archive(ANHARMONIC_ARCHIVE)
    run = QueryBuilder().append(WorkChainNode, filters={'label': 'silicon-anharmonic-set'}).one()[0]
    return run.outputs.training_set


def test_the_anharmonic_set_is_further_from_equilibrium(reference_data, anharmonic_set):
    frames = anharmonic_set.get_frames()
    assert len(frames) == 52 and {len(frame) for frame in frames} == {8, 16}

    def force_rms(training_set):
        return np.sqrt(np.mean(np.concatenate([frame.arrays['forces'] for frame in training_set.get_frames()]) ** 2))

    # rattles of 0.03-0.2 A against 0.005-0.1 A: larger forces, in the same units and sign conventions
    assert force_rms(anharmonic_set) > 2 * force_rms(reference_data['silicon-reference-set'].outputs.training_set)


def test_merged_training_sets_keep_each_frames_split_and_provenance(reference_data, anharmonic_set):
    from aiida_unconmlip.workflows.reference_steps import merge_training_sets

    near = reference_data['silicon-reference-set'].outputs.training_set
    merged = merge_training_sets(set_0=near, set_1=anharmonic_set)
    frames, parts = merged.get_frames(), near.get_frames() + anharmonic_set.get_frames()
    assert len(frames) == len(parts) == merged.base.attributes.get('count')
    for frame, part in zip(frames, parts, strict=True):
        assert frame.info['split'] == part.info['split']
        np.testing.assert_array_equal(frame.arrays['forces'], part.arrays['forces'])
    assert [frame.info['from_set'] for frame in frames] == ['set_0'] * len(near.get_frames()) + ['set_1'] * 52
    sources = QueryBuilder().append(TrainingSetData, filters={'id': merged.pk}, tag='merged')
    sources.append(TrainingSetData, with_descendants='merged', project='id')
    assert set(sources.all(flat=True)) == {near.pk, anharmonic_set.pk}
    with pytest.raises(ValueError, match='two or more'):
        merge_training_sets(set_0=near)
