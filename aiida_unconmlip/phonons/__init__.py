"""Phonon calculations with phonopy, as plain functions on phonopy objects (no AiiDA here).

The work chain's calcfunctions (:mod:`aiida_unconmlip.workflows.phonon_steps`) wrap these, so the physics is
testable on its own and every step still becomes a node.
"""
