"""A foreground run resumes a work chain as soon as a child it waits on terminates, from the child itself."""

import signal
import subprocess
import sys

import numpy as np
from aiida.orm import Dict
from ase.calculators.emt import EMT

from aiida_unconmlip.cli.foreground_runner import ForegroundRunner, rows_kept_across_commits
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


def test_a_foreground_run_still_reads_what_another_process_wrote(profile_env):
    """Keeping loaded rows across commits leaves out only the columns that never change: the attributes, extras and
    label of a node are still read from the database, as another process left them."""
    from aiida.manage import get_manager

    session = get_manager().get_profile_storage().get_session()
    node = Dict({'value': 1}).store()
    with rows_kept_across_commits():
        assert session.expire_on_commit is False
        assert node.label == '' and node.base.extras.get('mark', None) is None
        session.commit()  # this process's reads end their transaction before the other process writes
        edit = (
            'from aiida import load_profile; load_profile(); from aiida.orm import load_node; '
            f"node = load_node({node.pk}); node.label = 'relabelled'; node.base.extras.set('mark', 2)"
        )
        subprocess.run([sys.executable, '-c', edit], env=profile_env, check=True)
        assert node.label == 'relabelled'
        assert node.base.extras.get('mark') == 2
        assert node.get_dict() == {'value': 1} and node.is_stored and node.pk is not None
    assert session.expire_on_commit is True
