"""Recipe: the embedded default model, a small PET trained with ``unconmlip.train`` on the Si DFT reference set.

Run with ``make model`` (or ``verdi run`` of this file on a profile set up with ``aiida-unconmlip setup`` and a
running daemon). It imports the reference archive if its nodes are not in the profile yet, trains with the
default hyperparameters of :mod:`aiida_unconmlip.training` (about 50 minutes on 2 CPU cores), copies the exported
model into ``models/files/``, records it with its sha256 as the registry's default, and writes the archive of its
provenance (pseudopotential -> pw.x -> training set -> training job -> model, and the DFPT reference) that
``aiida-unconmlip setup`` imports.
"""

import json
import shutil
from pathlib import Path

from aiida.engine import submit
from aiida.orm import Dict, QueryBuilder, Str, WorkChainNode, load_code
from aiida.tools.archive import create_archive, import_archive

import aiida_unconmlip.models
from aiida_unconmlip.calcjobs.train import TrainCalculation
from aiida_unconmlip.models.recipes.waiting import wait_until_finished
from aiida_unconmlip.training import parse_hyperparameters

MODELS = Path(aiida_unconmlip.models.__file__).parent
REFERENCE_ARCHIVE = MODELS / 'archives' / 'silicon-dft-reference.aiida'
NAME = 'pet-si-pbe'
MODEL_FILE = MODELS / 'files' / f'{NAME}.pt'
PROVENANCE_ARCHIVE = MODELS / 'archives' / f'{NAME}.aiida'
# Filled in from the training set the recipe used, so the registry cannot fall behind the data.
DESCRIPTION = (
    'Small unconstrained PET (metatrain) for Si, trained with unconmlip.train on {cells} PBE cells computed with '
    'pw.x (Si.pbe-rrkj.UPF, 30 Ry); energy, conservative and direct forces and stress.'
)


def reference_workchain(label: str) -> WorkChainNode:
    """The finished reference work chain with this label, importing the shipped DFT archive first if needed."""
    filters = {'label': label, 'attributes.exit_status': 0}
    if not QueryBuilder().append(WorkChainNode, filters=filters).count():
        import_archive(REFERENCE_ARCHIVE)
    query = QueryBuilder().append(WorkChainNode, filters=filters, tag='run').order_by({'run': {'ctime': 'desc'}})
    return query.first(flat=True)


def register(model_file: Path, sha256: str, description: str) -> None:
    """Make the model the registry's default, replacing an earlier entry of the same name."""
    registry = json.loads(aiida_unconmlip.models.REGISTRY.read_text())
    entry = {
        'name': NAME,
        'file': f'files/{model_file.name}',
        'backend': 'metatomic',
        'sha256': sha256,
        'description': description,
        'provenance': f'archives/{PROVENANCE_ARCHIVE.name}',
    }
    registry['models'] = [model for model in registry['models'] if model['name'] != NAME] + [entry]
    registry['default'] = NAME
    aiida_unconmlip.models.REGISTRY.write_text(json.dumps(registry, indent=2) + '\n')


if __name__ == '__main__':
    reference_set = reference_workchain('silicon-reference-set')
    dfpt = reference_workchain('silicon-dfpt-reference')
    builder = TrainCalculation.get_builder()
    builder.code = load_code('mtt@localhost')
    builder.training_set = reference_set.outputs.training_set
    builder.model_name = Str(NAME)
    # Spelled out rather than left to the CalcJob's defaults, so the training job's inputs say what trained the model.
    builder.hyperparameters = Dict(parse_hyperparameters(None))
    builder.metadata.label = f'train-{NAME}'
    train = submit(builder)
    print(f'submitted {train.process_label}<{train.pk}>')
    wait_until_finished([train], interval=60)
    model = train.outputs.model
    with model.open(mode='rb') as source, MODEL_FILE.open('wb') as target:
        shutil.copyfileobj(source, target)
    training_cells = len(builder.training_set.base.attributes.get('split')['train'])
    register(MODEL_FILE, model.sha256, DESCRIPTION.format(cells=training_cells))
    create_archive([model, dfpt], filename=PROVENANCE_ARCHIVE, overwrite=True)
    print(f'model {MODEL_FILE} (sha256 {model.sha256}); errors: {train.outputs.errors.get_dict()}')
    print(f'provenance archive: {PROVENANCE_ARCHIVE}')
