"""metatrain options for ``unconmlip.train``: validated hyperparameters in, ``options.yaml`` out.

Keys of ``model`` and ``training`` are checked against metatrain's documented PET hyperparameters, so a typo is
refused at submission instead of failing on the compute node.
"""

from __future__ import annotations

from typing import Any

DEFAULTS = {
    'seed': 0,
    'model': {
        'cutoff': 4.5,
        'd_pet': 64,
        'd_head': 64,
        'd_node': 128,
        'd_feedforward': 128,
        'num_heads': 4,
        'num_attention_layers': 1,
        'num_gnn_layers': 2,
    },
    'training': {'batch_size': 8, 'num_epochs': 1600, 'learning_rate': 5e-4},
    # The direct heads get the same weights as the gradients they stand in for (what trained the shipped model);
    # a lighter direct_forces lets the conservative forces steer the shared layers (docs/default-model.rst).
    'loss_weights': {'energy': 1.0, 'forces': 30.0, 'stress': 1.0, 'direct_forces': 30.0, 'direct_stress': 1.0},
    'direct_heads': True,
}
# metatrain's dataset section -> (split label in the training set, file the CalcJob writes it to)
SET_FILES = {
    'training_set': ('train', 'train.xyz'),
    'validation_set': ('validation', 'validation.xyz'),
    'test_set': ('test', 'test.xyz'),
}


def _pet_keys() -> tuple[set[str], set[str]]:
    from metatrain.pet.documentation import ModelHypers, TrainerHypers

    return set(ModelHypers.__annotations__), set(TrainerHypers.__annotations__) - {'loss', 'finetune'}


def parse_hyperparameters(given: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults merged with ``given``; ``ValueError`` names any key metatrain's PET would not accept."""
    given = dict(given or {})
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise ValueError(f'unknown hyperparameter keys {sorted(unknown)}; allowed: {", ".join(DEFAULTS)}')
    model_keys, training_keys = _pet_keys()
    for section, allowed in (('model', model_keys), ('training', training_keys)):
        unknown = set(given.get(section, {})) - allowed
        if unknown:
            raise ValueError(f'unknown PET {section} hyperparameters {sorted(unknown)}')
    weights = {**DEFAULTS['loss_weights'], **given.get('loss_weights', {})}
    if set(weights) != set(DEFAULTS['loss_weights']) or any(w < 0 for w in weights.values()):
        raise ValueError(f'loss_weights takes non-negative weights for {", ".join(DEFAULTS["loss_weights"])}')
    return {
        'seed': given.get('seed', DEFAULTS['seed']),
        'model': {**DEFAULTS['model'], **given.get('model', {})},
        'training': {**DEFAULTS['training'], **given.get('training', {})},
        'loss_weights': weights,
        'direct_heads': given.get('direct_heads', DEFAULTS['direct_heads']),
    }


def _direct_target(key: str, rank: int, per_atom: bool, quantity: str) -> dict[str, Any]:
    """A direct (non-conservative) head learning the ``key`` column of the extxyz files."""
    unit = {'force': 'eV/A', 'pressure': 'eV/A^3'}[quantity]
    return {'key': key, 'type': {'cartesian': {'rank': rank}}, 'per_atom': per_atom, 'quantity': quantity, 'unit': unit}


def _targets(direct_heads: bool) -> dict[str, Any]:
    targets: dict[str, Any] = {
        'energy': {'key': 'energy', 'unit': 'eV', 'forces': {'key': 'forces'}, 'stress': {'key': 'stress'}}
    }
    if direct_heads:
        targets['non_conservative_forces'] = _direct_target('forces', rank=1, per_atom=True, quantity='force')
        targets['non_conservative_stress'] = _direct_target('stress', rank=2, per_atom=False, quantity='pressure')
    return targets


def metatrain_options(hyperparameters: dict[str, Any], finetune_checkpoint: str | None = None) -> dict[str, Any]:
    """The ``options.yaml`` content for ``mtt train``, reading the split from ``train.xyz`` etc."""
    values = parse_hyperparameters(hyperparameters)
    weights = values['loss_weights']
    loss: dict[str, Any] = {
        'energy': {
            'weight': weights['energy'],
            'gradients': {'positions': {'weight': weights['forces']}, 'strain': {'weight': weights['stress']}},
        }
    }
    if values['direct_heads']:
        loss['non_conservative_forces'] = {'weight': weights['direct_forces']}
        loss['non_conservative_stress'] = {'weight': weights['direct_stress']}
    training = {**values['training'], 'loss': loss}
    if finetune_checkpoint:
        training['finetune'] = {'method': 'full', 'read_from': finetune_checkpoint}
    sets = {
        name: {
            'systems': {'read_from': filename, 'length_unit': 'angstrom'},
            'targets': _targets(values['direct_heads']),
        }
        for name, (_, filename) in SET_FILES.items()
    }
    return {
        'seed': values['seed'],
        'architecture': {'name': 'pet', 'model': values['model'], 'training': training},
        **sets,
    }
