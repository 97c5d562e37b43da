"""Model nodes: one node per file content, refusal of unreadable files, remote models by hash."""

import shutil

import pytest
from aiida.orm import QueryBuilder

from aiida_unconmlip.data import ModelData, ModelImportError, RemoteModelData
from aiida_unconmlip.engine.hashing import sha256_of_file


def test_importing_a_model_twice_yields_one_node(aiida_profile_clean, pet_model_file, tmp_path):
    first = ModelData.import_file(pet_model_file, name='tiny-pet')
    copy = tmp_path / 'renamed.pt'
    shutil.copy(pet_model_file, copy)
    second = ModelData.import_file(copy)
    assert first.pk == second.pk
    assert QueryBuilder().append(ModelData, filters={'attributes.sha256': first.sha256}).count() == 1


def test_model_description_is_recorded(aiida_profile_clean, pet_model_file):
    node = ModelData.import_file(pet_model_file, name='tiny-pet')
    assert node.sha256 == sha256_of_file(pet_model_file)
    assert node.model_backend == 'metatomic'
    assert node.architecture == 'PET'
    assert node.elements == ['Si']
    assert node.cutoff == pytest.approx(4.5)
    assert node.capabilities == {'conservative': True, 'direct_forces': True, 'direct_stress': True}


def test_corrupted_model_file_is_refused_with_a_clear_error(aiida_profile_clean, pet_model_file, tmp_path):
    corrupted = tmp_path / 'corrupted.pt'
    corrupted.write_bytes(pet_model_file.read_bytes()[:5000])
    with pytest.raises(ModelImportError, match='not a loadable metatomic model'):
        ModelData.import_file(corrupted)
    assert QueryBuilder().append(ModelData).count() == 0


def test_broken_ase_spec_is_refused(aiida_profile_clean, tmp_path, monkeypatch):
    spec = tmp_path / 'calc.json'
    spec.write_text('{"calculator": "ase.calculators.nothing.Here"}')
    with pytest.raises(ModelImportError, match=r'`ase\.calculators\.nothing\.Here` is not an allowed ASE calculator'):
        ModelData.import_file(spec)
    monkeypatch.setenv('UNCONMLIP_ALLOWED_CALCULATORS', 'ase.calculators.nothing')
    with pytest.raises(ModelImportError, match=r'cannot import `ase\.calculators\.nothing\.Here`'):
        ModelData.import_file(spec)


def test_remote_model_validates_what_it_records(aiida_profile_clean, aiida_localhost):
    node = RemoteModelData(
        computer=aiida_localhost, remote_path='/models/pet-oam.pt', sha256='a' * 64, backend='metatomic', name='oam'
    ).store()
    assert node.engine_reference() == {'backend': 'metatomic', 'path': '/models/pet-oam.pt', 'sha256': 'a' * 64}
    with pytest.raises(ValueError, match='absolute'):
        RemoteModelData(computer=aiida_localhost, remote_path='pet.pt', sha256='a' * 64, backend='metatomic', name='x')
    with pytest.raises(ValueError, match='sha256'):
        RemoteModelData(computer=aiida_localhost, remote_path='/pet.pt', sha256='xyz', backend='metatomic', name='x')
