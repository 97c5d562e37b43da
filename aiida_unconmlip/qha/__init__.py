"""Quasi-harmonic thermal expansion and mode Grüneisen parameters with phonopy, as plain functions (no AiiDA)."""

from .calculation import QhaResults, compute_qha, gruneisen_on_path, volume_scale_factors

__all__ = ['QhaResults', 'compute_qha', 'gruneisen_on_path', 'volume_scale_factors']
