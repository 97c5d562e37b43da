"""Classical potentials with published parameters, used as exact, equivariant references in tests.

They are shipped as ASE-backend model specs (``aiida_unconmlip/models/files``) so that they flow through the
same model nodes, CalcJobs and work chains as trained models.
"""

from __future__ import annotations

from ase.calculators.tersoff import Tersoff, TersoffParameters

SILICON_1988 = TersoffParameters(
    m=3.0,
    gamma=1.0,
    lambda3=1.3258,
    c=4.8381,
    d=2.0417,
    h=0.0,
    n=22.956,
    beta=0.33675,
    lambda2=1.3258,
    B=95.373,
    R=3.0,
    D=0.2,
    lambda1=3.2394,
    A=3264.7,
)


class TersoffSi1988(Tersoff):
    """Tersoff's silicon potential, parameters of J. Tersoff, Phys. Rev. B 37, 6991 (1988)."""

    def __init__(self, **kwargs):
        super().__init__({('Si', 'Si', 'Si'): SILICON_1988}, **kwargs)
