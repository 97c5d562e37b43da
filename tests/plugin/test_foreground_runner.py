"""A foreground run resumes a work chain as soon as a child it waits on terminates, from the child itself."""

import signal

import numpy as np
from aiida.orm import Dict
from ase.calculators.emt import EMT

from aiida_unconmlip.cli.foreground_runner import ForegroundRunner
from aiida_unconmlip.cli.launch import launch
from aiida_unconmlip.data import StructureSetData
from aiida_unconmlip.workflows.evaluate import EvaluateWorkChain
from tests.helpers import rattled_copper

DEADLINE_SECONDS = 300


def never_polls(runner, node, callback):
    """AiiDA's fallback, switched off: only the child's own termination can resume its parent."""


def stuck(signum, frame):
    raise TimeoutError('the work chain was not resumed when its child terminated')


def test_a_foreground_work_chain_resumes_without_polling_its_children(monkeypatch, engine_code, shipped_models):
    monkeypatch.setattr(ForegroundRunner, '_poll_process', never_polls)
    frames = rattled_copper(3)
    builder = EvaluateWorkChain.get_builder()
    builder.evaluate.code = engine_code
    builder.evaluate.model = shipped_models['emt']
    builder.evaluate.structures = StructureSetData.from_ase(frames)
    builder.evaluate.settings = Dict({'dtype': 'float64'})
    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(DEADLINE_SECONDS)
    try:
        node = launch(builder, daemon=False, as_json=False)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

    assert node.is_finished_ok, node.exit_message
    [job] = [child for child in node.called if child.process_label == 'EvaluateCalculation']
    assert job.is_finished_ok and job.is_sealed
    for atoms, forces in zip(frames, node.outputs.forces.get_list(), strict=True):
        atoms.calc = EMT()
        np.testing.assert_allclose(forces, atoms.get_forces(), atol=1e-10)
