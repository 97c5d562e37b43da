"""``unconmlip.train``: train or fine-tune a PET with metatrain (``mtt train``) on a compute node."""

from __future__ import annotations

import io
from pathlib import Path

import ase.io
import yaml
from aiida.common import CalcInfo, CodeInfo
from aiida.engine import CalcJob
from aiida.orm import ArrayData, Bool, Dict, SinglefileData, Str

from ..data import ModelData
from ..data.training_set import TrainingSetData
from ..ports import dict_validator
from ..training import SET_FILES, metatrain_options, parse_hyperparameters

FINETUNE_FILE = 'start.ckpt'


class TrainCalculation(CalcJob):
    """Train a PET on a training set (energy, conservative forces and stress, and direct heads if asked).

    The exported model becomes a ``ModelData`` whose provenance reaches the training set and, through it, the
    DFT calculations. The exported file is stored once, in the ``ModelData``; metatrain's checkpoint (with the
    optimiser state, several times the model's size) is stored only if ``store_checkpoint`` asks for it.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('training_set', valid_type=TrainingSetData, help='Data with a fixed train/validation/test split.')
        spec.input(
            'hyperparameters',
            valid_type=Dict,
            required=False,
            validator=dict_validator(parse_hyperparameters),
            help='seed, model (PET), training (metatrain trainer), loss_weights, direct_heads.',
        )
        spec.input(
            'finetune_checkpoint',
            valid_type=SinglefileData,
            required=False,
            help='A metatrain checkpoint to fine-tune (e.g. a foundation PET), instead of training from scratch.',
        )
        spec.input(
            'model_name',
            valid_type=Str,
            required=False,
            help='Name of the exported model (what `--model` accepts), with its short hash if taken; the architecture '
            'name otherwise.',
        )
        spec.input(
            'store_checkpoint',
            valid_type=Bool,
            default=lambda: Bool(False),
            help="Keep metatrain's checkpoint as the `checkpoint` output, to fine-tune or continue from it later.",
        )
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['parser_name'].default = 'unconmlip.train'
        spec.output('model', valid_type=ModelData, help='The exported model.')
        spec.output(
            'checkpoint', valid_type=SinglefileData, required=False, help='metatrain checkpoint (store_checkpoint).'
        )
        spec.output('learning_curves', valid_type=ArrayData, help='Per epoch: losses and errors (train.csv).')
        spec.output('errors', valid_type=Dict, help='Errors on the training, validation and test sets.')
        spec.exit_code(300, 'ERROR_MISSING_OUTPUT', message='metatrain wrote no model: {message}')
        spec.exit_code(301, 'ERROR_METATRAIN_FAILED', message='metatrain failed: {message}')
        spec.exit_code(302, 'ERROR_NAN_LOSS', message='The training loss became NaN at epoch {epoch}.')

    def prepare_for_submission(self, folder) -> CalcInfo:
        frames = self.inputs.training_set.get_frames()
        for split, filename in SET_FILES.values():
            chosen = [frame for frame in frames if frame.info['split'] == split]
            if not chosen:  # metatrain needs every set; a set without test data reuses the validation frames
                chosen = [frame for frame in frames if frame.info['split'] == 'validation'] or frames[:1]
            buffer = io.StringIO()
            ase.io.write(buffer, chosen, format='extxyz')
            Path(folder.abspath, filename).write_text(buffer.getvalue())
        hyperparameters = self.inputs.hyperparameters.get_dict() if 'hyperparameters' in self.inputs else None
        finetune = FINETUNE_FILE if 'finetune_checkpoint' in self.inputs else None
        options = metatrain_options(hyperparameters, finetune)
        Path(folder.abspath, 'options.yaml').write_text(yaml.safe_dump(options, sort_keys=False))

        codeinfo = CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ['train', 'options.yaml', '-o', 'model.pt']
        codeinfo.stdout_name = 'mtt.out'

        calcinfo = CalcInfo()
        calcinfo.codes_info = [codeinfo]
        if finetune:
            checkpoint = self.inputs.finetune_checkpoint
            calcinfo.local_copy_list = [(checkpoint.uuid, checkpoint.filename, FINETUNE_FILE)]
        calcinfo.retrieve_temporary_list = ['model.pt']
        calcinfo.retrieve_list = [
            *(['model.ckpt'] if self.inputs.store_checkpoint.value else []),
            'mtt.out',
            'options.yaml',
            ('outputs/*/*/train.csv', '.', 0),
            ('outputs/*/*/train.log', '.', 0),
        ]
        return calcinfo
