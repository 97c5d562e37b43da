"""Restoration and settings requests are validated with messages that say what to fix."""

import pytest

from aiida_unconmlip.engine import Restoration, parse_restoration, parse_settings


def test_canonical_form_round_trips():
    restoration = Restoration(forces_mode='direct', l_max=3, inversion=True)
    assert parse_restoration(restoration.as_dict()) == restoration
    assert parse_restoration(None) == Restoration()


@pytest.mark.parametrize(
    ('request_', 'message'),
    [
        ({'symmetrize': True}, 'unknown restoration keys'),
        ({'forces_mode': 'magic'}, 'forces_mode must be one of'),
        ({'rotational_average': {'l_max': -1}}, 'l_max must be an integer'),
        ({'rotational_average': {'l_max': 2.5}}, 'l_max must be an integer'),
        ({'rotational_average': {'lmax': 2}}, 'unknown rotational_average keys'),
        ({'rotational_average': {'l_max': 2, 'inversion': 'yes'}}, 'inversion must be true or false'),
    ],
)
def test_impossible_restorations_are_rejected(request_, message):
    with pytest.raises(ValueError, match=message):
        parse_restoration(request_)


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
