"""A phonon run exported as phonopy files: phonopy's own command line gives the run's frequencies."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from aiida.engine import run_get_node
from aiida.orm import StructureData
from ase.build import bulk
from phonopy.file_IO import parse_FORCE_CONSTANTS

from aiida_unconmlip.export import export_phonons
from aiida_unconmlip.workflows.phonons import PhononWorkChain

BIN = Path(sys.executable).parent


def run_phonons(code, model, **overrides):
    builder = PhononWorkChain.get_builder_from_protocol(
        code, StructureData(ase=bulk('Cu', 'fcc', a=3.61)), model, protocol='fast', relax=False, overrides=overrides
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    return results, node


def band_yaml_frequencies(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """q-points (fractional) and frequencies (THz) of every point of a phonopy band.yaml."""
    phonons = yaml.safe_load(path.read_text())['phonon']
    qpoints = np.array([entry['q-position'] for entry in phonons])
    frequencies = np.array([[band['frequency'] for band in entry['band']] for entry in phonons])
    return qpoints, frequencies


def test_phonopy_load_on_the_exported_folder_gives_the_run_frequencies(engine_code, shipped_models, tmp_path):
    results, node = run_phonons(engine_code, shipped_models['emt'])
    folder = tmp_path / 'export'
    written = export_phonons(node, folder, eigenvectors=True)
    assert {path.name for path in written} >= {
        'phonopy_params.yaml',
        'FORCE_CONSTANTS',
        'band.yaml',
        'mesh.yaml',
        'total_dos.dat',
        'thermal_properties.yaml',
    }
    np.testing.assert_allclose(
        parse_FORCE_CONSTANTS(folder / 'FORCE_CONSTANTS'), results['force_constants'].get_array('force_constants')
    )

    exported = yaml.safe_load((folder / 'band.yaml').read_text())['phonon']
    eigenvectors = np.array(exported[10]['band'][0]['eigenvector'])  # (atoms, 3, [re, im]) for one band
    vectors = np.array(
        [[complex(*xyz) for atom in band['eigenvector'] for xyz in atom] for band in exported[10]['band']]
    )
    np.testing.assert_allclose(vectors.conj() @ vectors.T, np.eye(len(vectors)), atol=1e-8)
    assert eigenvectors.shape == (1, 3, 2)
    plotted = subprocess.run(
        [BIN / 'phonopy-bandplot', 'band.yaml', '-o', 'band.png'],
        cwd=folder,
        env={**os.environ, 'MPLBACKEND': 'Agg'},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plotted.returncode == 0, plotted.stdout + plotted.stderr
    assert (folder / 'band.png').stat().st_size > 10_000

    (folder / 'band.yaml').rename(folder / 'band-exported.yaml')
    loaded = subprocess.run(
        [BIN / 'phonopy-load', '-q', 'phonopy_params.yaml', '--config', 'band.conf'],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    qpoints, frequencies = band_yaml_frequencies(folder / 'band.yaml')
    bands = results['band_structure']
    for kpoint, run_frequencies in zip(bands.get_kpoints(), bands.get_bands(), strict=True):
        match = np.flatnonzero(np.abs(qpoints - kpoint).max(axis=1) < 1e-9)
        assert len(match), f'q-point {kpoint} of the run is missing from the band.yaml of phonopy-load'
        np.testing.assert_allclose(frequencies[match[0]], run_frequencies, atol=1e-6)


def test_a_q_path_of_ones_own_replaces_seekpath(engine_code, shipped_models):
    path = {
        'path': [['GAMMA', 'X'], ['L', 'GAMMA']],
        'points': {'GAMMA': [0, 0, 0], 'X': [0.5, 0, 0.5], 'L': [0.5, 0.5, 0.5]},
    }
    results, _ = run_phonons(engine_code, shipped_models['emt'], properties={'band_path': path})
    bands = results['band_structure']
    assert bands.labels == [(0, 'GAMMA'), (50, 'X'), (51, 'L'), (101, 'GAMMA')]
    np.testing.assert_allclose(bands.get_kpoints()[50], [0.5, 0, 0.5])
    seekpath_run, _ = run_phonons(engine_code, shipped_models['emt'])
    x_index = dict((label, index) for index, label in seekpath_run['band_structure'].labels)['X']
    np.testing.assert_allclose(bands.get_bands()[50], seekpath_run['band_structure'].get_bands()[x_index], atol=1e-8)


def test_a_q_path_with_a_label_without_coordinates_is_refused(engine_code, shipped_models):
    with pytest.raises(ValueError, match='no coordinates for X'):
        run_phonons(
            engine_code,
            shipped_models['emt'],
            properties={'band_path': {'path': [['GAMMA', 'X']], 'points': {'GAMMA': [0, 0, 0]}}},
        )


def phonopy_load(folder: Path, conf: str) -> subprocess.CompletedProcess:
    loaded = subprocess.run(
        [BIN / 'phonopy-load', '-q', 'phonopy_params.yaml', '--config', conf],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    return loaded


def thermal_yaml(path: Path) -> dict[str, np.ndarray]:
    entries = yaml.safe_load(path.read_text())['thermal_properties']
    return {key: np.array([entry[key] for entry in entries]) for key in entries[0]}


# thermal_properties.yaml has 7 decimals: a value matches the run's to 1e-8 relative or to half its last digit
YAML_DIGIT = 5e-8


def test_mesh_conf_gives_the_run_thermal_properties(engine_code, shipped_models, tmp_path):
    """Finding 2: the run leaves the acoustic modes at Gamma out of its thermal properties, and so must mesh.conf;
    where one of them comes out positive, keeping it changes the free energy (checked: the test can fail)."""
    results, node = run_phonons(engine_code, shipped_models['emt'])
    assert max(results['diagnostics']['gamma_acoustic_thz']) > 0, 'no positive acoustic mode: nothing to tell apart'
    folder = tmp_path / 'export'
    export_phonons(node, folder)
    (folder / 'thermal_properties.yaml').unlink()
    phonopy_load(folder, 'mesh.conf')
    exported = thermal_yaml(folder / 'thermal_properties.yaml')
    thermal = results['thermal_properties']
    np.testing.assert_allclose(exported['temperature'], thermal.get_x()[1], rtol=1e-8, atol=YAML_DIGIT)
    for name, values, _ in thermal.get_y():
        np.testing.assert_allclose(exported[name], values, rtol=1e-8, atol=YAML_DIGIT, err_msg=name)

    conf = (folder / 'mesh.conf').read_text()
    (folder / 'with-acoustic.conf').write_text(conf.replace('EXCLUDE_GAMMA_ACOUSTIC = .TRUE.\n', ''))
    phonopy_load(folder, 'with-acoustic.conf')
    with_acoustic = thermal_yaml(folder / 'thermal_properties.yaml')
    free_energy = dict((name, values) for name, values, _ in thermal.get_y())['free_energy']
    assert np.abs(with_acoustic['free_energy'][1:] - free_energy[1:]).max() > 1e-3


def test_dos_conf_gives_the_run_total_dos(engine_code, shipped_models, tmp_path):
    results, node = run_phonons(engine_code, shipped_models['emt'])
    folder = tmp_path / 'export'
    export_phonons(node, folder)
    (folder / 'total_dos.dat').unlink()
    phonopy_load(folder, 'dos.conf')
    frequencies, dos = np.loadtxt(folder / 'total_dos.dat', unpack=True)
    total = results['total_dos']
    np.testing.assert_allclose(frequencies, total.get_x()[1], rtol=1e-8, atol=1e-6)
    np.testing.assert_allclose(dos, total.get_y()[0][1], rtol=1e-6, atol=1e-6)


def test_export_refuses_a_folder_with_files_unless_forced(engine_code, shipped_models, tmp_path):
    from click.testing import CliRunner

    from aiida_unconmlip.cli.root import cmd_root

    _, node = run_phonons(engine_code, shipped_models['emt'])
    folder = tmp_path / 'mine'
    folder.mkdir()
    (folder / 'band.conf').write_text('my own settings\n')
    (folder / 'notes.txt').write_text('keep me\n')
    refused = CliRunner().invoke(cmd_root, ['export', str(node.pk), str(folder)])
    assert refused.exit_code == 1 and 'is not empty: give a new or empty folder, or --force' in refused.output
    assert sorted(path.name for path in folder.iterdir()) == ['band.conf', 'notes.txt']
    assert (folder / 'band.conf').read_text() == 'my own settings\n'

    forced = CliRunner().invoke(cmd_root, ['export', str(node.pk), str(folder), '--force'])
    assert forced.exit_code == 0, forced.output
    assert 'BAND =' in (folder / 'band.conf').read_text() and (folder / 'notes.txt').read_text() == 'keep me\n'
