"""Parser of ``unconmlip.phonopy``: phonopy's results as typed nodes (the band structure as labelled ``BandsData``)."""

from __future__ import annotations

from aiida.engine import ExitCode
from aiida.orm import ArrayData, BandsData, Dict, SinglefileData, XyData

from ..engine.phonopy_task import PARAMS_FILE
from .base import EngineParser


def xy_node(x, x_name: str, x_unit: str, columns: list[tuple[str, object, str]]) -> XyData:
    node = XyData()
    node.set_x(x, x_name, x_unit)
    node.set_y([values for _, values, _ in columns], [name for name, _, _ in columns], [unit for *_, unit in columns])
    return node


class PhonopyParser(EngineParser):
    def parse(self, **kwargs) -> ExitCode | None:
        outputs = self.read_outputs()
        if isinstance(outputs, ExitCode):
            return outputs
        arrays, report = outputs
        force_constants = ArrayData()
        force_constants.set_array('force_constants', arrays['force_constants'])
        self.out('force_constants', force_constants)
        with self.retrieved.base.repository.open(PARAMS_FILE, 'rb') as handle:
            self.out('phonopy_yaml', SinglefileData(handle, filename=PARAMS_FILE))

        bands = BandsData()
        bands.set_cell(arrays['primitive_cell'])
        bands.set_kpoints(arrays['band_kpoints'])
        bands.set_bands(arrays['band_frequencies'], units='THz')
        bands.labels = [(int(index), label) for index, label in report['band_labels']]
        self.out('band_structure', bands)
        self.out(
            'total_dos',
            xy_node(arrays['dos_frequencies'], 'frequency', 'THz', [('dos', arrays['total_dos'], 'states/THz')]),
        )
        if 'projected_dos' in arrays:
            symbols = report['primitive_symbols']
            columns = [
                (f'{symbol}{index}', values, 'states/THz')
                for index, (symbol, values) in enumerate(zip(symbols, arrays['projected_dos'], strict=True))
            ]
            self.out('projected_dos', xy_node(arrays['pdos_frequencies'], 'frequency', 'THz', columns))
        thermal = [
            ('free_energy', arrays['free_energy'], 'kJ/mol'),
            ('entropy', arrays['entropy'], 'J/K/mol'),
            ('heat_capacity', arrays['heat_capacity'], 'J/K/mol'),
        ]
        self.out('thermal_properties', xy_node(arrays['temperatures'], 'temperature', 'K', thermal))
        self.out('diagnostics', Dict(report['diagnostics']))
        self.output_records_and_timing(report)
        return None
