"""``unconmlip-engine FOLDER``: run the job in FOLDER on this node and write results (or error.json) there.

``unconmlip-engine --describe MODEL``: print what a model file on this node declares, with its sha256 (JSON).

With ``UNCONMLIP_ENGINE_WARM_SECONDS`` set in the job's environment (the localhost code of ``aiida-unconmlip setup``
sets it), the job runs in a warm engine process of this machine, which stays that many seconds after its last job
(:mod:`aiida_unconmlip.engine.warm`). This module imports nothing heavy, so that path starts in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import sys

from .warm import run_in_warm_engine, warm_seconds


def describe(path: str, backend: str | None) -> dict:
    """What a model file on this machine declares, and its sha256: what registering a remote model records."""
    from dataclasses import asdict

    from .hashing import sha256_of_file
    from .potentials import guess_backend, load_potential

    potential = load_potential(path, backend or guess_backend(path), device='cpu')
    return {'sha256': sha256_of_file(path), **asdict(potential.description)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='unconmlip-engine', description=__doc__)
    parser.add_argument('folder', nargs='?', default='.', help='input folder with job.json (default: here)')
    parser.add_argument('--describe', metavar='MODEL', help='print what the model file declares (JSON) and exit')
    parser.add_argument('--backend', help='backend of --describe (default: from the file name)')
    arguments = parser.parse_args(argv)
    if arguments.describe:
        from .errors import EXIT_ENGINE_ERROR, EngineError

        try:
            print(json.dumps(describe(arguments.describe, arguments.backend)))
        except EngineError as exc:
            print(f'unconmlip-engine: {exc.code}: {exc}', file=sys.stderr)
            return EXIT_ENGINE_ERROR
        return 0
    seconds = warm_seconds()
    if seconds is not None:
        return run_in_warm_engine(arguments.folder, seconds)
    from .jobs import run_folder

    return run_folder(arguments.folder)


if __name__ == '__main__':
    sys.exit(main())
