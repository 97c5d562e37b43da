"""Sphinx configuration for aiida-unconmlip."""

import sys
from pathlib import Path

from aiida.manage.configuration import load_profile
from aiida.storage.sqlite_temp import SqliteTempBackend

# AiiDA's process directives read the process specifications with a profile loaded: an in-memory one will do.
load_profile(SqliteTempBackend.create_profile('unconmlip-docs'), allow_switch=True)

project = 'aiida-unconmlip'
author = 'aiida-unconmlip developers'
sys.path.insert(0, str(Path(__file__).parent / '_ext'))
extensions = ['sphinx.ext.autodoc', 'sphinx.ext.napoleon', 'sphinx.ext.mathjax', 'aiida.sphinxext', 'exit_codes']
autodoc_typehints = 'description'
autodoc_member_order = 'bysource'
exclude_patterns = ['_build', 'examples', '_ext']
html_theme = 'alabaster'
suppress_warnings = ['ref.python']
