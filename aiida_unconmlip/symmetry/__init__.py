"""Symmetry-restoration steps that run on the AiiDA side, each a calcfunction and so its own provenance node."""

from .net_force import net_force_removal
from .projection import space_group_projection

__all__ = ('net_force_removal', 'space_group_projection')
