"""Every place the project leans on what aiida-core or symfc do not promise, for speed: the list, one switch, the audit.

Each speed-up says what it saves (measured on the 2-core development machine, where docs/performance.rst has the
measurement), where it lives, what it uses beyond the upstream public API, and the upstream versions that use was
read against. ``tests/engine/test_speedups.py`` checks each entry against the installed versions and names: an
upgrade of aiida-core or symfc fails that test by name, which says what to read again.

One switch, ``UNCONMLIP_SPEEDUPS``: unset or ``all``, every speed-up on; ``none``, every one off (upstream's own
behaviour, the results the same and slower); or names to switch off, ``-local_jobs,-projector_basis_ahead``. The
warm engine process also needs ``UNCONMLIP_ENGINE_WARM_SECONDS`` in a job's environment (``setup`` puts it in the
local code's prepend text). No imports of the project or of AiiDA: the engine reads the switch too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

SWITCH_VARIABLE = 'UNCONMLIP_SPEEDUPS'


@dataclass(frozen=True)
class Speedup:
    """A speed-up: what it saves, where it lives, and what upstream it relies on."""

    name: str
    module: str  # where it lives
    saves: str  # measured
    audited: tuple[tuple[str, str], ...]  # (distribution, version prefix) read against
    relies_on: tuple[str, ...]  # names beyond the public API: "module:Class.attribute" (or set in the class's code)


SPEEDUPS = (
    Speedup(
        'local_jobs',
        'aiida_unconmlip.cli.local_jobs',
        'jobs of a foreground run watched through pidfds instead of `ps` every 0.2 s: 0.5 to 0.9 s of engine time '
        'in 40 supercells on 2 cores',
        (('aiida-core', '2.9.'),),
        (
            'aiida.engine.processes.calcjobs.manager:JobsList._get_jobs_from_scheduler',
            'aiida.engine.processes.calcjobs.manager:JobsList._job_update_requests',
            'aiida.engine.processes.calcjobs.manager:JobsList._polling_jobs',
            'aiida.engine.processes.calcjobs.manager:JobsList._last_updated',
            'aiida.engine.processes.calcjobs.manager:JobManager._job_lists',
            'aiida.engine.processes.calcjobs.manager:JobManager._transport_queue',
        ),
    ),
    Speedup(
        'rows_kept_across_commits',
        'aiida_unconmlip.cli.foreground_runner',
        'about 2200 of the 6400 SQL statements of the main job',
        (('aiida-core', '2.9.'),),
        ('aiida.storage.psql_dos.orm.utils:disable_expire_on_commit',),
    ),
    Speedup(
        'output_links',
        'aiida_unconmlip.output_links',
        '284 of the 6834 SQL statements of the main job',
        (('aiida-core', '2.9.'),),
        ('aiida.engine.processes.process:Process.update_outputs',),
    ),
    Speedup(
        'projector_basis_ahead',
        'aiida_unconmlip.phonons.projector',
        "symfc's basis built in a forked process while phonopy works: the phonopy job of Si216 1.35 s instead of 2.5 s",
        (('symfc', '1.8.'),),
        (
            'symfc:Symfc.compute_basis_set',
            'symfc:Symfc.basis_set',
            'symfc:Symfc.p2s_map',
            'symfc.utils.utils:SymfcAtoms',
            'symfc.basis_sets.basis_sets_O2:FCBasisSetO2.compact_compression_matrix',
            'symfc.basis_sets.basis_sets_O2:FCBasisSetO2.blocked_basis_set',
            'symfc.basis_sets.basis_sets_O2:FCBasisSetO2.translation_permutations',
        ),
    ),
    Speedup(
        'no_symmetry_proof',
        'aiida_unconmlip.symmetry.no_symmetry',
        "spglib's search skipped on structures proven P1: 3.4 ms instead of 26 ms per 216-atom random-displacement "
        'supercell (no gain at 64 atoms: 2.3 against 2.6 ms)',
        (),
        (),
    ),
    Speedup(
        'warm_engine',
        'aiida_unconmlip.engine.warm',
        'torch, the libraries and the model loaded once per run, not per job: about 3 s per job',
        (),
        (),
    ),
)
NAMES = tuple(speedup.name for speedup in SPEEDUPS)


def switched_off(value: str | None = None) -> frozenset[str]:
    """The speed-ups ``UNCONMLIP_SPEEDUPS`` (or ``value``) switches off; an unknown name is refused, not ignored."""
    value = (os.environ.get(SWITCH_VARIABLE, '') if value is None else value).strip()
    if value in ('', 'all'):
        return frozenset()
    if value == 'none':
        return frozenset(NAMES)
    names = [name.strip() for name in value.split(',') if name.strip()]
    unknown = [name for name in names if not name.startswith('-') or name[1:] not in NAMES]
    if unknown:
        raise ValueError(
            f'{SWITCH_VARIABLE}={value!r}: {", ".join(unknown)} not understood; give all, none, or names to switch '
            f'off, each with a leading -, from {", ".join(NAMES)}'
        )
    return frozenset(name[1:] for name in names)


def enabled(name: str) -> bool:
    """Whether the speed-up ``name`` is on (read at each call, so a test or a job may switch it)."""
    if name not in NAMES:
        raise KeyError(f'no speed-up named {name!r}')
    return name not in switched_off()
