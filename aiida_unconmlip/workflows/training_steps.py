"""Calcfunctions around ``unconmlip.train``: what one training job hands to the next."""

from __future__ import annotations

import tempfile
from pathlib import Path

from aiida.engine import calcfunction
from aiida.orm import RemoteData, SinglefileData

CHECKPOINT = 'model.ckpt'


@calcfunction
def checkpoint_left_on_remote(remote_folder: RemoteData) -> SinglefileData:
    """metatrain's checkpoint from a finished training job's folder, for a job run without ``store_checkpoint``.

    A fine-tune needs the checkpoint (the exported model has no optimiser state and no training hyperparameters);
    taking it through this calcfunction keeps the graph from the fine-tuned model back to the job that trained its
    parent.
    """
    if CHECKPOINT not in remote_folder.listdir():
        raise ValueError(
            f'{remote_folder.get_remote_path()} has no {CHECKPOINT}: the folder was cleaned; train the parent again '
            'with store_checkpoint=True'
        )
    with tempfile.TemporaryDirectory() as folder:
        local = Path(folder) / CHECKPOINT
        remote_folder.getfile(CHECKPOINT, str(local))
        return SinglefileData(local, filename=CHECKPOINT)
