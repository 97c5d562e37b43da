"""Inside or outside the model's domain: the spot check's errors against the model card's own test errors.

The card's numbers are metatrain's errors on the test frames held back from training (the training job's
``errors`` output). A check whose force RMSE or stress (virial per atom) RMSE is more than ``factor`` times the
card's is outside the domain the model was tested in; so is one whose aligned energy error is.
"""

from __future__ import annotations

from typing import Any

DEFAULT_FACTOR = 3.0
# metatrain's names for the test errors the check is compared with, and the check's own number for each
CARD_KEYS = {
    'forces_rmse_mev_per_angstrom': 'energy_positions_gradients RMSE',
    'energy_rmse_mev_per_atom': 'energy RMSE (per atom)',
    'virial_rmse_mev_per_atom': 'energy_strain_gradients RMSE (per atom)',
}


def card_errors(metatrain_errors: dict[str, Any]) -> dict[str, float]:
    """The test errors of a model card, in the check's units (meV/A, meV/atom)."""
    test = metatrain_errors.get('test', {})
    return {key: float(test[name]['value']) for key, name in CARD_KEYS.items() if name in test}


def check_errors(errors: dict[str, Any]) -> dict[str, float]:
    """The spot check's numbers that have a card counterpart."""
    numbers = {
        'forces_rmse_mev_per_angstrom': errors['forces_mev_per_angstrom']['rmse'],
        'virial_rmse_mev_per_atom': errors['stress']['virial_rmse_mev_per_atom'],
    }
    if errors['energy_mev_per_atom'] is not None:
        numbers['energy_rmse_mev_per_atom'] = errors['energy_mev_per_atom']['rmse']
    return numbers


def verdict(errors: dict[str, Any], card: dict[str, float] | None, factor: float = DEFAULT_FACTOR) -> dict[str, Any]:
    """``inside``, ``outside`` or ``no card``, with each number over the card's and a sentence that says why."""
    if not card:
        return {'domain': 'no card', 'factor': factor, 'ratios': {}, 'message': 'the model has no test errors on '
                'record (it was not trained in this profile): the numbers only'}  # fmt: skip
    numbers = check_errors(errors)
    ratios = {key: numbers[key] / card[key] for key in numbers if card.get(key)}
    beyond = {key: ratio for key, ratio in ratios.items() if ratio > factor}
    if beyond:
        worst = max(beyond, key=beyond.get)
        message = (
            f"outside the model's domain: {worst.replace('_', ' ')} {numbers[worst]:.3g} is {beyond[worst]:.1f} "
            f"times the model card's test error {card[worst]:.3g} (limit {factor:g} times)"
        )
    else:
        message = f"inside the model's domain: every error within {factor:g} times the model card's test errors"
    return {'domain': 'outside' if beyond else 'inside', 'factor': factor, 'ratios': ratios, 'message': message}
