"""A parent model's checkpoint taken from its training job's folder into the graph, for a fine-tune."""

import pytest
from aiida.orm import RemoteData

from aiida_unconmlip.workflows.training_steps import checkpoint_left_on_remote


def test_the_checkpoint_left_in_a_job_folder_becomes_a_node_linked_to_that_folder(aiida_localhost, tmp_path):
    (tmp_path / 'model.ckpt').write_bytes(b'\x00checkpoint bytes\xff')
    folder = RemoteData(computer=aiida_localhost, remote_path=str(tmp_path)).store()
    checkpoint = checkpoint_left_on_remote(folder)
    assert checkpoint.filename == 'model.ckpt'
    assert checkpoint.get_content(mode='rb') == b'\x00checkpoint bytes\xff'
    assert checkpoint.creator.inputs.remote_folder.pk == folder.pk


def test_a_cleaned_folder_says_to_train_again_with_store_checkpoint(aiida_localhost, tmp_path):
    folder = RemoteData(computer=aiida_localhost, remote_path=str(tmp_path)).store()
    with pytest.raises(ValueError, match='store_checkpoint=True'):
        checkpoint_left_on_remote(folder)
