"""The compute-node engine: load a model, batch structures, restore symmetry, write results.

It never imports AiiDA, so it runs on nodes without database access and is usable alone::

    from aiida_unconmlip.engine import Restoration, evaluate_structures, load_potential

    potential = load_potential('model.pt', 'metatomic', device='cuda', dtype='float64')
    result = evaluate_structures(potential, structures, Restoration(l_max=3, inversion=True))

The folder interface used by the CalcJobs is described in :mod:`aiida_unconmlip.engine.io`.
"""

from .errors import EngineError
from .evaluate import EvaluationResult, evaluate_structures
from .potentials import load_potential
from .restoration import Restoration, parse_restoration
from .settings import EngineSettings, parse_settings

__all__ = (
    'EngineError',
    'EngineSettings',
    'EvaluationResult',
    'Restoration',
    'evaluate_structures',
    'load_potential',
    'parse_restoration',
    'parse_settings',
)
