"""The compute-node engine: load a model, batch structures, restore symmetry, write results.

It never imports AiiDA, so it runs on nodes without database access and is usable alone::

    from aiida_unconmlip.engine import Restoration, evaluate_structures, load_potential

    potential = load_potential('model.pt', 'metatomic', device='cuda', dtype='float64')
    result = evaluate_structures(potential, structures, Restoration(l_max=3, inversion=True))

The folder interface used by the CalcJobs is described in :mod:`aiida_unconmlip.engine.io`. The names below are
imported when first used, so that starting ``unconmlip-engine`` for a warm engine process costs no numerical imports.
"""

from __future__ import annotations

from importlib import import_module

_MODULE_OF = {
    'EngineError': '.errors',
    'EngineSettings': '.settings',
    'EvaluationResult': '.evaluate',
    'Restoration': '.restoration',
    'evaluate_structures': '.evaluate',
    'load_potential': '.potentials',
    'parse_restoration': '.restoration',
    'parse_settings': '.settings',
}

__all__ = tuple(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(import_module(_MODULE_OF[name], __name__), name)
