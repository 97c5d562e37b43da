"""Parser of ``unconmlip.train``: the exported model, learning curves and errors from metatrain's files."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
from aiida.engine import ExitCode
from aiida.orm import ArrayData, Dict, SinglefileData
from aiida.parsers import Parser

from ..data.model import ModelData, ModelImportError
from ..models.names import free_name

EVALUATION = re.compile(r'Evaluating (training|validation|test) dataset')
METRIC = re.compile(r'^(?P<name>.+?): (?P<value>[-+0-9.eE]+|nan) ?(?P<unit>\S*)$')


def parse_errors(log: str) -> dict[str, dict[str, dict[str, float | str]]]:
    """The final error table of each dataset: {'test': {'energy RMSE (per atom)': {'value': 3.4, 'unit': 'meV'}}}."""
    errors, current = {}, None
    for line in log.splitlines():
        found = EVALUATION.search(line)
        if found:
            current = found.group(1)
            continue
        if current and ' RMSE' in line:
            message = line.split(' - ', 1)[-1]
            metrics = {}
            for part in message.split(' | '):
                match = METRIC.match(part.strip())
                if match:
                    metrics[match['name']] = {'value': float(match['value']), 'unit': match['unit']}
            errors[current] = metrics
            current = None
    return errors


def parse_learning_curves(text: str) -> ArrayData:
    """train.csv as arrays, one per column (names made safe for ArrayData), with the units as an attribute."""
    rows = list(csv.reader(io.StringIO(text)))
    header, units, data = rows[0], rows[1], np.array(rows[2:], dtype=float)
    curves = ArrayData()
    names = {}
    for column, name in enumerate(header):
        safe = re.sub(r'[^0-9a-zA-Z]+', '_', name).strip('_').lower()
        curves.set_array(safe, data[:, column])
        names[safe] = {'column': name, 'unit': units[column]}
    curves.base.attributes.set('columns', names)
    return curves


class TrainParser(Parser):
    def parse(self, **kwargs) -> ExitCode | None:
        files = set(self.retrieved.base.repository.list_object_names())
        log = self.retrieved.base.repository.get_object_content('train.log') if 'train.log' in files else ''
        if 'train.csv' in files:
            curves = parse_learning_curves(self.retrieved.base.repository.get_object_content('train.csv'))
            losses = curves.get_array('training_loss')
            if not np.isfinite(losses).all():
                return self.exit_codes.ERROR_NAN_LOSS.format(epoch=int(np.argmin(np.isfinite(losses))))
            self.out('learning_curves', curves)
        temporary = kwargs.get('retrieved_temporary_folder')  # the exported file goes into ModelData, stored once
        exported = Path(temporary) / 'model.pt' if temporary else None
        if exported is None or not exported.is_file():
            output = self.retrieved.base.repository.get_object_content('mtt.out') if 'mtt.out' in files else ''
            last = next((line for line in reversed((output + log).splitlines()) if line.strip()), 'no output')
            if 'nan' in log.lower() and 'loss' in log.lower():
                return self.exit_codes.ERROR_NAN_LOSS.format(epoch='?')
            return self.exit_codes.ERROR_METATRAIN_FAILED.format(message=last.strip())
        name = self.node.inputs.model_name.value if 'model_name' in self.node.inputs else None
        try:
            model = ModelData.import_file(exported, name=name, source='unconmlip.train', store=False)
        except ModelImportError as exc:
            return self.exit_codes.ERROR_MISSING_OUTPUT.format(message=str(exc))
        model.label = free_name(model.declared_name, model)  # a taken name gets the file's short hash
        self.out('model', model)
        if 'model.ckpt' in files:
            with self.retrieved.base.repository.open('model.ckpt', 'rb') as handle:
                self.out('checkpoint', SinglefileData(handle, filename='model.ckpt'))
        self.out('errors', Dict(parse_errors(log)))
        return None
