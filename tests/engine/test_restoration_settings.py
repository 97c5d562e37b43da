"""Restoration and settings requests are validated with messages that say what to fix."""

import pytest

from aiida_unconmlip.engine import parse_settings
from aiida_unconmlip.engine.restoration import (
    INFERENCE_STEPS,
    RELAXATION_STEPS,
    STEP_NAMES,
    Restoration,
    parse_restoration,
)


def test_defaults_fill_every_applicable_step_and_the_engine_view_round_trips():
    assert parse_restoration(None) == {'forces_mode': 'conservative', 'rotational_average': False}
    assert parse_restoration(None, STEP_NAMES) == {
        'fix_symmetry': True,
        'forces_mode': 'conservative',
        'rotational_average': False,
        'space_group_projection': True,
        'net_force_removal': True,
        'force_constant_symmetrization': True,
    }
    restoration = Restoration(forces_mode='direct', l_max=3, inversion=True)
    assert Restoration.from_values(parse_restoration(restoration.as_steps())) == restoration
    assert Restoration.from_values(parse_restoration(None)) == Restoration()


@pytest.mark.parametrize(
    ('request_', 'applicable', 'message'),
    [
        ({'symmetrize': True}, INFERENCE_STEPS, 'unknown restoration steps'),
        ({'forces_mode': 'magic'}, INFERENCE_STEPS, 'forces_mode must be one of'),
        ({'rotational_average': {'l_max': 0}}, INFERENCE_STEPS, 'l_max must be an integer from 1'),
        ({'rotational_average': {'l_max': 2.5}}, INFERENCE_STEPS, 'l_max must be an integer'),
        ({'rotational_average': {'lmax': 2}}, INFERENCE_STEPS, 'unknown rotational_average keys'),
        ({'rotational_average': {'l_max': 2, 'inversion': 'yes'}}, INFERENCE_STEPS, 'inversion must be true or false'),
        ({'rotational_average': True}, INFERENCE_STEPS, 'rotational_average must be false or a mapping'),
        ({'fix_symmetry': True}, INFERENCE_STEPS, 'fix_symmetry is not applied by this process'),
        ({'space_group_projection': True}, RELAXATION_STEPS, 'space_group_projection is not applied'),
        ({'net_force_removal': 'yes'}, STEP_NAMES, 'switched on or off with true or false'),
    ],
)
def test_impossible_restorations_are_rejected(request_, applicable, message):
    with pytest.raises(ValueError, match=message):
        parse_restoration(request_, applicable)


@pytest.mark.parametrize(
    ('settings', 'message'),
    [
        ({'device': 'tpu'}, 'device must be one of'),
        ({'dtype': 'float16'}, 'dtype must be one of'),
        ({'max_atoms_per_batch': 0}, 'positive integer'),
        ({'batch': 3}, 'unknown settings keys'),
    ],
)
def test_impossible_settings_are_rejected(settings, message):
    with pytest.raises(ValueError, match=message):
        parse_settings(settings)
