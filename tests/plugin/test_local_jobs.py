"""A foreground run polls a job on this machine once, then watches its process to its end."""

import numpy as np
import pytest
from aiida.orm import Dict, InstalledCode
from aiida.schedulers.datastructures import JobState
from aiida.schedulers.plugins.direct import DirectScheduler
from ase.calculators.emt import EMT

from aiida_unconmlip.calcjobs.evaluate import EvaluateCalculation
from aiida_unconmlip.cli.foreground_runner import foreground_runner
from aiida_unconmlip.data import StructureSetData
from tests.helpers import rattled_copper


@pytest.fixture
def scheduler_polls(monkeypatch) -> list:
    """What every ``ps`` poll of the direct scheduler found (the real one runs)."""
    polls, get_jobs = [], DirectScheduler.get_jobs

    def counted(self, jobs=None, user=None, as_dict=False):
        found = get_jobs(self, jobs=jobs, user=user, as_dict=as_dict)
        polls.append(found)
        return found

    monkeypatch.setattr(DirectScheduler, 'get_jobs', counted)
    return polls


def code_with_prepend(computer, executable, label: str, prepend_text: str):
    return InstalledCode(
        computer=computer, filepath_executable=str(executable), label=label, prepend_text=prepend_text
    ).store()


def evaluate_builder(code, model, frames):
    builder = EvaluateCalculation.get_builder()
    builder.code = code
    builder.model = model
    builder.structures = StructureSetData.from_ase(frames)
    builder.settings = Dict({'dtype': 'float64'})
    return builder


def test_a_running_job_is_polled_once_then_watched(scheduler_polls, aiida_localhost, engine_executable, shipped_models):
    """The computer's poll interval is zero here, so AiiDA's own list would run ``ps`` over and over for the second
    the job sleeps; watched, the job is polled once and its end still noticed."""
    assert aiida_localhost.get_minimum_job_poll_interval() == 0
    code = code_with_prepend(aiida_localhost, engine_executable, 'unconmlip-engine-slow', 'sleep 1')
    frames = rattled_copper(2)
    _, node = foreground_runner().run_get_node(evaluate_builder(code, shipped_models['emt'], frames))

    assert node.is_finished_ok, node.exit_message
    [poll] = scheduler_polls
    assert poll[node.get_job_id()].job_state == JobState.RUNNING
    assert node.get_last_job_info().job_state == JobState.RUNNING  # what that poll found, recorded as before
    assert node.get_scheduler_state() == JobState.DONE
    for atoms, forces in zip(frames, node.outputs.forces.get_list(), strict=True):
        atoms.calc = EMT()
        np.testing.assert_allclose(forces, atoms.get_forces(), atol=1e-10)


def test_a_job_killed_from_outside_is_noticed_and_parsed(
    scheduler_polls, aiida_localhost, engine_executable, shipped_models
):
    """The job's process is killed (SIGKILL) after the first poll: its end is noticed through the watch, and the job
    retrieved and parsed as one that stopped without output."""
    code = code_with_prepend(aiida_localhost, engine_executable, 'unconmlip-engine-killed', 'sleep 1; kill -9 $$')
    _, node = foreground_runner().run_get_node(evaluate_builder(code, shipped_models['emt'], rattled_copper(1)))

    assert node.exit_status == EvaluateCalculation.exit_codes.ERROR_MISSING_OUTPUT.status, node.exit_message
    assert len(scheduler_polls) == 1
    assert node.get_scheduler_state() == JobState.DONE
