"""DFT spot checks of a model's run (``unconmlip.validate``): which cells, what differs, and whether it matters.

Pure functions of ASE atoms, arrays and phonopy; the work chain in :mod:`aiida_unconmlip.workflows.validate` puts
them in the provenance graph.
"""
