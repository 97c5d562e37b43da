"""Sphinx configuration for aiida-unconmlip."""

project = 'aiida-unconmlip'
author = 'aiida-unconmlip developers'
extensions = ['sphinx.ext.autodoc', 'sphinx.ext.napoleon', 'sphinx.ext.mathjax']
autodoc_typehints = 'description'
autodoc_member_order = 'bysource'
exclude_patterns = ['_build', 'examples']
html_theme = 'alabaster'
suppress_warnings = ['ref.python']
