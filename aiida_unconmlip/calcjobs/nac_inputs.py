"""The inputs of the non-analytical correction, shared by the phonopy and phono3py jobs (and passed to them by the
work chains): the charges as data, the method as a string."""

from __future__ import annotations

from typing import Any

from aiida.orm import Str

from ..data import BornChargesData
from ..phonons.parameters import NAC_METHODS

DEFAULT_NAC_METHOD = NAC_METHODS[0]


def validate_nac_method(node: Str, _) -> str | None:
    if node.value not in NAC_METHODS:
        return f'nac_method {node.value!r}: one of {", ".join(NAC_METHODS)}'
    return None


def define_nac_inputs(spec) -> None:
    spec.input(
        'born_charges',
        valid_type=BornChargesData,
        required=False,
        help='Born effective charges and the high-frequency dielectric tensor of a polar crystal: with them the '
        'non-analytical correction (LO-TO splitting) is applied and recorded as a step.',
    )
    spec.input(
        'nac_method',
        valid_type=Str,
        required=False,
        validator=validate_nac_method,
        help=f'How phonopy applies the correction: {" or ".join(NAC_METHODS)} (default {DEFAULT_NAC_METHOD}, '
        "Gonze-Lee's dipole-dipole sum).",
    )


def nac_request(inputs) -> dict[str, Any]:
    """The ``nac`` entry of the request of a job given ``born_charges``."""
    from ..phonons.nac import NacRequest

    method = inputs.nac_method.value if 'nac_method' in inputs else DEFAULT_NAC_METHOD
    return NacRequest(inputs.born_charges.get_charges(), method).as_dict()
