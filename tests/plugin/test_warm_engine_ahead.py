"""A command line that ran a code with a warm engine process starts that process as it starts, before AiiDA."""

import contextlib
import os
import signal
import tempfile
import time
from pathlib import Path

import pytest
from aiida.orm import InstalledCode

from aiida_unconmlip.cli import warm_engine
from aiida_unconmlip.cli.warm_engine import (
    code_options,
    start_ahead_as_before,
    start_warm_engine_ahead,
    warm_engine_prepend_text,
)
from aiida_unconmlip.engine.warm import endpoint_folder


@pytest.fixture
def engines(private_warm_engines, monkeypatch) -> Path:
    """The private endpoint folder, in this process too; the command-line key of each test its own."""
    monkeypatch.setattr(tempfile, 'tempdir', str(private_warm_engines))
    monkeypatch.setattr(warm_engine, '_command_line_key', None)
    return endpoint_folder()


def running_engines(folder: Path) -> list[int]:
    """PIDs of the warm processes whose PID files are there (a process leaving removes its own between the listing
    and the reading: then it is not running)."""
    pids = []
    for path in folder.glob('*.pid'):
        with contextlib.suppress(FileNotFoundError):
            pids.append(int(path.read_text()))
    return pids


def stop(folder: Path) -> None:
    pids = running_engines(folder)
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while running_engines(folder) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running_engines(folder)


def test_code_options_are_read_as_click_reads_them():
    argv = ['-p', 'work', 'phonons', 'si.cif', '--code=engine@gpu', '--computer', 'gpu', '--protocol', 'fast']
    assert code_options(argv) == {'-p': 'work', '--code': 'engine@gpu', '--computer': 'gpu'}


def test_the_warm_engine_of_the_last_run_starts_with_the_command(engines, aiida_localhost, engine_executable):
    def code(label, prepend_text=''):
        return InstalledCode(
            computer=aiida_localhost, filepath_executable=str(engine_executable), label=label, prepend_text=prepend_text
        ).store()

    warm, cold = code('unconmlip-engine-ahead', warm_engine_prepend_text(30)), code('unconmlip-engine-cold')
    argv = ['phonons', 'si.cif', '--code', warm.full_label]

    start_ahead_as_before('phonons', argv)  # this command line never ran: nothing to start yet
    assert running_engines(engines) == []
    start_warm_engine_ahead(warm)  # the run, once it has loaded its code
    assert len(running_engines(engines)) == 1
    stop(engines)

    start_ahead_as_before('phonons', argv)  # the next run of the same command line
    assert len(running_engines(engines)) == 1
    stop(engines)
    for not_a_foreground_run in (['phonons', 'si.cif', '--daemon'], ['show', '12']):
        start_ahead_as_before(not_a_foreground_run[0], not_a_foreground_run)
        assert running_engines(engines) == []

    start_ahead_as_before('phonons', argv)
    start_warm_engine_ahead(cold)  # the code changed: forgotten, so the next run starts nothing ahead
    stop(engines)
    start_ahead_as_before('phonons', argv)
    assert running_engines(engines) == []
