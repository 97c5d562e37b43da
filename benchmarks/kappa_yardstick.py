"""The default PET's thermal conductivity against the DFT yardstick, like for like, with each restoration step.

Usage: ``verdi run benchmarks/kappa_yardstick.py [MODEL]`` on a profile set up with ``aiida-unconmlip setup`` (the
work chains run in this process; no daemon or pw.x needed); MODEL is a shipped model's name, the default without one.
It imports the yardstick's archive
(``make kappa-yardstick``: pw.x fc2, fc3 and kappa of diamond Si in the fcc-shaped 16-atom supercell) unless its work
chain is in the profile, then runs ``unconmlip.thermal_conductivity`` with the default model on the same crystal with
the same displacements (same supercell, same random displacements and seed) and the same conductivity settings, so
the model's fc2, fc3 and kappa differ from DFT only through the forces:

``restored``
    The model at the DFT cell with the default restoration steps.
``raw``, ``no_space_group_projection``, ``no_net_force_removal``, ``rotational_average``, ``direct_forces``
    The same with every step off, one step off, the rotational average (l_max 3 with inversion) on, or the model's
    direct (non-conservative) force head in place of the energy's gradient.
``relaxed``
    The model's own equilibrium cell (FixSymmetry relaxation), as a user runs it.

For ``restored`` also kappa(300 K) with fc2 from DFT and fc3 from the model and the other way round (phono3py
alone): which order carries the error. For DFT also kappa(300 K) from the first 4 and 8 of the 12 displacement
pairs (phono3py alone): how converged the yardstick is in its number of supercells. For each model run: kappa(T)
(mean of the diagonal), kappa(300 K)'s anisotropy, and fc3 and fc2 component by component against DFT as a
relative RMS difference, ``|model - DFT| / |DFT|`` over every component. Writes
``benchmarks/results/kappa-yardstick-cpu.json`` and ``docs/_static/kappa-yardstick.png``.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

import h5py
import numpy as np
from aiida.engine import run_get_node
from aiida.orm import QueryBuilder, WorkChainNode, load_code
from aiida.tools.archive import import_archive

import aiida_unconmlip
from aiida_unconmlip.engine.restoration import RESTORATION_OFF
from aiida_unconmlip.models import default_model_name
from aiida_unconmlip.models.importing import shipped_model_node
from aiida_unconmlip.models.recipes.silicon_kappa_yardstick import (
    ARCHIVE,
    CONDUCTIVITY,
    DISPLACEMENTS,
    LABEL,
    primitive_cell,
)
from aiida_unconmlip.workflows.thermal_conductivity import ThermalConductivityWorkChain

REPO = Path(aiida_unconmlip.__file__).resolve().parent.parent  # `verdi run` does not set __file__ to this script
# phono3py's own examples, PBE, fc3 and fc2 in the 64-atom conventional 2x2x2 supercell, 11x11x11 mesh, RTA.
PBE_LITERATURE_300K = {'phono3py Si-PBE (VASP)': 119.3, 'phono3py Si-QE': 121.3}
CASES = {
    'restored': ({}, False),
    'raw': (RESTORATION_OFF, False),
    'no_space_group_projection': ({'space_group_projection': False}, False),
    'no_net_force_removal': ({'net_force_removal': False}, False),
    'rotational_average': ({'rotational_average': {'l_max': 3, 'inversion': True}}, False),
    'direct_forces': ({'forces_mode': 'direct'}, False),
    'relaxed': ({}, True),
}


def yardstick() -> WorkChainNode:
    """The DFT work chain of the yardstick, from the profile or its archive."""
    query = QueryBuilder().append(WorkChainNode, filters={'label': LABEL, 'attributes.exit_status': 0})
    if not query.count():
        import_archive(ARCHIVE)
    return query.order_by({WorkChainNode: {'ctime': 'desc'}}).first(flat=True)


def force_constants(node) -> dict[str, np.ndarray]:
    """fc2 and fc3 of a run's outputs, as phono3py wrote them (compact)."""
    arrays = {}
    for name, key in (('fc2', 'force_constants'), ('fc3', 'fc3')):
        with h5py.File(io.BytesIO(node.outputs[name].get_content(mode='rb')), 'r') as handle:
            arrays[name] = np.array(handle[key])
    return arrays


def relative_rms(model: np.ndarray, reference: np.ndarray) -> float:
    return float(np.linalg.norm(model - reference) / np.linalg.norm(reference))


def kappa_summary(node) -> dict:
    kappa = node.outputs.kappa
    temperatures, tensor = kappa.get_array('temperatures'), kappa.get_array('kappa')
    at_300 = tensor[int(np.abs(temperatures - 300).argmin())]
    return {
        'kappa_T': {f'{t:g}': float(k[:3].mean()) for t, k in zip(temperatures, tensor, strict=True)},
        'kappa_300K': at_300.tolist(),
        'anisotropy_300K': float((at_300[:3].max() - at_300[:3].min()) / at_300[:3].mean()),
    }


def yardstick_phono3py(reference: WorkChainNode):
    """A fresh phono3py object of the yardstick's setup (its displacements, no force constants)."""
    import phono3py

    job = reference.base.links.get_outgoing(link_label_filter='phono3py').one().node
    with job.inputs.phono3py_setup.as_path() as path:
        return phono3py.load(path, produce_fc=False, log_level=0)


def kappa_300k(ph3) -> float:
    """kappa(300 K), mean of the diagonal, of a phono3py object with force constants, on the yardstick's mesh."""
    ph3.mesh_numbers = CONDUCTIVITY['mesh']
    ph3.init_phph_interaction()
    ph3.run_thermal_conductivity(temperatures=[300.0])
    return float(ph3.thermal_conductivity.kappa[0, 0, :3].mean())


def dft_convergence(reference: WorkChainNode, pairs: tuple[int, ...] = (4, 8)) -> dict[str, float]:
    """kappa(300 K) of phono3py alone from the first ``k`` random displacements and their opposites of the DFT
    forces: how far the yardstick is from converged in the number of supercells."""
    forces = np.array(reference.outputs.forces.get_list())
    total = len(forces) // 2  # phono3py puts the opposites of the random displacements after them
    results = {}
    for count in (*pairs, total):
        ph3 = yardstick_phono3py(reference)
        chosen = [*range(count), *range(total, total + count)]
        ph3.dataset = {'displacements': ph3.dataset['displacements'][chosen], 'forces': forces[chosen]}
        ph3.produce_fc3(fc_calculator='symfc')
        results[str(count)] = kappa_300k(ph3)
    return results


def crossed_kappa(reference: WorkChainNode, dft_fc: dict, model_fc: dict) -> dict[str, float]:
    """kappa(300 K) with one order of force constants from DFT and the other from the model (phono3py alone, the
    yardstick's setup): how much of the model's kappa error each order carries."""
    results = {}
    for name, (fc2, fc3) in {
        'dft_fc2_model_fc3': (dft_fc['fc2'], model_fc['fc3']),
        'model_fc2_dft_fc3': (model_fc['fc2'], dft_fc['fc3']),
    }.items():
        ph3 = yardstick_phono3py(reference)
        ph3.fc2, ph3.fc3 = fc2, fc3
        results[name] = kappa_300k(ph3)
    return results


def run_model(code, model, restoration: dict, relax: bool) -> tuple[WorkChainNode, float]:
    builder = ThermalConductivityWorkChain.get_builder_from_protocol(
        code,
        primitive_cell(),
        model,
        protocol='fast',
        relax=relax,
        overrides={'displacements': DISPLACEMENTS, 'conductivity': CONDUCTIVITY, 'restoration': restoration},
    )
    start = time.perf_counter()
    _, node = run_get_node(builder)
    if not node.is_finished_ok:
        raise SystemExit(f'ThermalConductivityWorkChain<{node.pk}> failed: {node.exit_message}')
    return node, time.perf_counter() - start


def plot(runs: dict, dft: dict, output: Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for name, values, style in (
        ('pw.x (yardstick)', dft, 'k-'),
        ('PET, restored', runs['restored'], 'C0-'),
        ('PET, raw', runs['raw'], 'C1--'),
        ('PET, relaxed', runs['relaxed'], 'C2:'),
    ):
        temperatures = [float(t) for t in values['kappa_T']]
        axes.plot(temperatures, list(values['kappa_T'].values()), style, label=name)
    for index, (name, value) in enumerate(PBE_LITERATURE_300K.items()):
        axes.plot([300], [value], 'k' + 'os'[index], fillstyle='none', label=f'{name}, 64 atoms')
    axes.set(xlabel='T (K)', ylabel='kappa (W/m-K)', yscale='log', title='Si, fc3 in the 16-atom supercell')
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(output, dpi=120)


def main() -> None:
    reference = yardstick()
    dft_fc = force_constants(reference)
    dft = kappa_summary(reference)
    dft['kappa_300K_by_displacement_pairs'] = dft_convergence(reference)
    print(f'DFT kappa(300 K) by displacement pairs: {dft["kappa_300K_by_displacement_pairs"]}')
    model = shipped_model_node(sys.argv[1] if len(sys.argv) > 1 else None)
    # Another shipped model than the default (a candidate) writes files of its own.
    suffix = '' if model.model_name == default_model_name() else f'-{model.model_name}'
    code = load_code('unconmlip-engine@localhost')
    runs = {}
    for name, (restoration, relax) in CASES.items():
        node, seconds = run_model(code, model, restoration, relax)
        fc = force_constants(node)
        runs[name] = {
            'pk': node.pk,
            'wall_seconds': seconds,
            'lattice_constant_angstrom': float(node.outputs.structure.get_ase().cell.lengths()[0]),
            **kappa_summary(node),
            'fc3_relative_rms_vs_dft': relative_rms(fc['fc3'], dft_fc['fc3']),
            'fc2_relative_rms_vs_dft': relative_rms(fc['fc2'], dft_fc['fc2']),
        }
        runs[name]['kappa_300K_over_dft'] = runs[name]['kappa_T']['300'] / dft['kappa_T']['300']
        if name == 'restored':
            runs[name]['kappa_300K_crossed'] = crossed_kappa(reference, dft_fc, fc)
            print(f'restored, one order from DFT: {runs[name]["kappa_300K_crossed"]}')
        run = runs[name]
        print(
            f'{name:28s} kappa(300 K) {run["kappa_T"]["300"]:7.2f} W/m-K ({run["kappa_300K_over_dft"]:.3f} of DFT), '
            f'fc3 rel. RMS {run["fc3_relative_rms_vs_dft"]:.3f}, fc2 rel. RMS {run["fc2_relative_rms_vs_dft"]:.3f}'
        )
    print(f'{"DFT (pw.x)":28s} kappa(300 K) {dft["kappa_T"]["300"]:7.2f} W/m-K')
    plot(runs, dft, REPO / 'docs' / '_static' / f'kappa-yardstick{suffix}.png')
    payload = {
        'model': {'name': model.model_name, 'sha256': model.sha256},
        'yardstick': {'uuid': reference.uuid, 'displacements': DISPLACEMENTS, 'conductivity': CONDUCTIVITY, **dft},
        'pbe_literature_300K': PBE_LITERATURE_300K,
        'runs': runs,
        'machine': {'cores': os.cpu_count()},
    }
    output = REPO / 'benchmarks' / 'results' / f'kappa-yardstick{suffix}-cpu.json'
    output.write_text(json.dumps(payload, indent=2) + '\n')


main()
