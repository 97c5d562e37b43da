"""Shared fixtures: a real AiiDA profile with the ZeroMQ broker (so the daemon runs), the engine code, models.

With ``UNCONMLIP_TEST_PROFILE`` set (``make test-cluster``), the tests run on that existing profile of the project
(``unconmlip-cluster``: PostgreSQL, RabbitMQ, SLURM over SSH, brought up by ``make services``) instead.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

# AiiDA creates its configuration folder when first imported: keep tests away from every real configuration, but the
# project's own for the services' profile that the cluster tests are for.
os.environ['AIIDA_PATH'] = (
    str(Path(__file__).resolve().parent.parent)
    if os.environ.get('UNCONMLIP_TEST_PROFILE')
    else tempfile.mkdtemp(prefix='unconmlip-tests-')
)
# The daemon looks ``verdi`` up on PATH: use the one of the environment running the tests.
os.environ['PATH'] = f'{Path(sys.executable).parent}{os.pathsep}{os.environ.get("PATH", "")}'

import pytest

from tests.helpers import process_has_ended, train_tiny_pet
from tests.nan_model import write_nan_model

pytest_plugins = ['aiida.tools.pytest_fixtures']

REPO = Path(__file__).resolve().parent.parent
SERVICES_PROFILE = os.environ.get('UNCONMLIP_TEST_PROFILE')
# The end-to-end tier (marker ``slow``): a test that runs jobs through the engine code, the command line on a profile,
# warm engine processes or a training (and every test of a module that marks itself so). Everything else is the fast
# tier, ``make test-fast``.
END_TO_END_FIXTURES = frozenset({'engine_code', 'profile_env', 'private_warm_engines', 'pet_model_file'})


def pytest_collection_modifyitems(config, items):
    """Mark the end-to-end tier by the fixtures a test uses; skip ``gpu`` tests where no CUDA device is visible."""
    gpu_tests = [item for item in items if item.get_closest_marker('gpu')]
    if gpu_tests:
        import torch

        if not torch.cuda.is_available():
            for item in gpu_tests:
                item.add_marker(pytest.mark.skip(reason='no CUDA device visible'))
    for item in items:
        if END_TO_END_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope='session', autouse=True)
def aiida_config(request):
    """A temporary configuration (the project's own for the cluster tests, whose profile the services made)."""
    if SERVICES_PROFILE:
        from aiida.manage.configuration import get_config

        yield get_config()
        return
    factory, folders = request.getfixturevalue('aiida_config_factory'), request.getfixturevalue('tmp_path_factory')
    with factory(folders.mktemp('aiida-config')) as config:
        yield config


@pytest.fixture(scope='session', autouse=True)
def aiida_profile(request, aiida_config):
    """A temporary profile with the built-in ZeroMQ broker, so tests can submit to a real daemon (or the services'
    profile, for the cluster tests)."""
    if SERVICES_PROFILE:
        from aiida import load_profile

        yield load_profile(SERVICES_PROFILE, allow_switch=True)
        return
    with request.getfixturevalue('aiida_profile_factory')(aiida_config, broker_backend='core.zeromq') as profile:
        yield profile


@pytest.fixture(scope='session')
def engine_executable() -> Path:
    return Path(sys.executable).parent / 'unconmlip-engine'


@pytest.fixture
def engine_code(aiida_localhost, engine_executable):
    """The ``unconmlip-engine`` of this environment as an InstalledCode on localhost."""
    from aiida.common.exceptions import NotExistent
    from aiida.orm import InstalledCode, load_code

    try:
        return load_code('unconmlip-engine@localhost')
    except NotExistent:
        return InstalledCode(
            computer=aiida_localhost,
            filepath_executable=str(engine_executable),
            label='unconmlip-engine',
            default_calc_job_plugin='unconmlip.evaluate',
        ).store()


@pytest.fixture
def shipped_models(aiida_profile):
    """The shipped models (EMT, Tersoff, the default PET) as nodes, by name."""
    from aiida_unconmlip.models.importing import import_shipped_models

    return {node.model_name: node for node in import_shipped_models()}


@pytest.fixture
def default_model(shipped_models):
    """The embedded default model (an unconstrained PET trained on the project's Si DFT data) as a node."""
    from aiida_unconmlip.models import default_model_name

    return shipped_models[default_model_name()]


@pytest.fixture(scope='session')
def pet_model_file(tmp_path_factory) -> Path:
    """A tiny PET trained for two epochs, for tests about model files (not physics): unconstrained, fast."""
    return train_tiny_pet(tmp_path_factory.mktemp('pet'))


@pytest.fixture(scope='session')
def nan_model_file(tmp_path_factory) -> Path:
    return write_nan_model(tmp_path_factory.mktemp('nan') / 'nan.pt')


@pytest.fixture
def profile_env(aiida_profile, engine_code) -> dict[str, str]:
    """An environment whose ``verdi`` and ``aiida-unconmlip`` use the test profile (its config folder and name)."""
    from aiida.manage.configuration import get_config

    return {
        **os.environ,
        'AIIDA_PATH': str(Path(get_config().dirpath).parent),
        'AIIDA_PROFILE': aiida_profile.name,
        'PATH': f'{Path(sys.executable).parent}{os.pathsep}{os.environ["PATH"]}',
    }


@pytest.fixture
def private_warm_engines(monkeypatch, tmp_path_factory) -> Path:
    """Warm engine processes of this test only: their sockets in a temporary folder of the test (the TMPDIR of the
    jobs it starts); every one started there is stopped, and checked gone, afterwards."""
    from aiida_unconmlip.engine.warm import WarmEngineUnavailable, stop_warm_engines

    folder = tmp_path_factory.mktemp('tmp')
    monkeypatch.setenv('TMPDIR', str(folder))
    yield folder
    monkeypatch.setattr(tempfile, 'tempdir', str(folder))
    pids = []
    with suppress(WarmEngineUnavailable):  # a folder the test made unusable: no warm process ever started there
        pids = stop_warm_engines()
    deadline = time.monotonic() + 30
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if not process_has_ended(pid)]
        time.sleep(0.05)
    assert not pids, f'warm engine processes {pids} did not stop'


@pytest.fixture(autouse=True)
def database_log_handler():
    """A command run in this process (click's CliRunner) configures AiiDA's logging as a command line does, without
    the handler that stores process reports in the database: the next test gets it back."""
    yield
    from aiida.common.log import configure_logging

    configure_logging(with_orm=True)
