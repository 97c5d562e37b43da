"""Parser of ``unconmlip.phono3py``: kappa(T), cumulative kappa, optional mode properties and phono3py's files."""

from __future__ import annotations

from aiida.engine import ExitCode
from aiida.orm import ArrayData, Dict, SinglefileData

from ..engine.phono3py_task import PARAMS_FILE
from .base import EngineParser


def arrays_node(arrays: dict, names: dict[str, str]) -> ArrayData:
    """ArrayData of ``arrays[key]`` stored under ``names[key]``, for the keys present."""
    node = ArrayData()
    for key, name in names.items():
        if key in arrays:
            node.set_array(name, arrays[key])
    return node


class Phono3pyParser(EngineParser):
    def parse(self, **kwargs) -> ExitCode | None:
        outputs = self.read_outputs()
        if isinstance(outputs, ExitCode):
            return outputs
        arrays, report = outputs
        kappa_names = {name: name for name in ('temperatures', 'kappa', 'kappa_intra', 'kappa_inter')}
        self.out('kappa', arrays_node(arrays, kappa_names))
        self.out(
            'cumulative_kappa',
            arrays_node(
                arrays,
                {'temperatures': 'temperatures', 'cumulative_frequencies': 'frequencies', 'cumulative_kappa': 'kappa'},
            ),
        )
        modes = {key: key.removeprefix('mode_') for key in arrays if key.startswith('mode_')}
        if modes:
            self.out('mode_properties', arrays_node(arrays, {'temperatures': 'temperatures', **modes}))
        for name in (PARAMS_FILE, 'fc2.hdf5', 'fc3.hdf5'):
            with self.retrieved.base.repository.open(name, 'rb') as handle:
                node = SinglefileData(handle, filename=name)
            self.out('phono3py_params' if name == PARAMS_FILE else name.removesuffix('.hdf5'), node)
        self.out('diagnostics', Dict(report['diagnostics']))
        self.output_records_and_timing(report)
        return None
