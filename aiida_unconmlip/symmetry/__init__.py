"""Symmetry: spglib's operations and the projection onto them (:mod:`.space_group`, no AiiDA), and the
restoration steps that run on the AiiDA side as calcfunctions (:mod:`.projection`, :mod:`.net_force`), each its own
provenance node. Nothing is imported here, so the AiiDA-free modules stay free of AiiDA."""
