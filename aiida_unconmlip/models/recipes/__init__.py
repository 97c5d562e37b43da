"""Recipes that (re)create the data and the model shipped in :mod:`aiida_unconmlip.models`, run with ``verdi run``."""
