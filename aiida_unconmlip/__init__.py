"""AiiDA plugin for lattice dynamics with unconstrained machine-learned interatomic potentials.

Importing this package is cheap and does not load AiiDA: the compute-node engine
(:mod:`aiida_unconmlip.engine`) lives under it and must stay free of AiiDA.
"""

__version__ = '0.1.0'
