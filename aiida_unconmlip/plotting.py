"""Band structure with the DOS beside it, labelled high-symmetry points, optionally a second run overlaid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from aiida.orm import ArrayData, BandsData, XyData

LABELS = {'GAMMA': 'Γ'}
SEEKPATH_LABELS = {shown: label for label, shown in LABELS.items()}


def _segments(bands: BandsData):
    """Path distance (1/A) and frequencies per continuous run, and the ticks of the labelled points.

    AiiDA's convention: two labelled points at consecutive indices are a jump in the path (shown as ``U|K``); the
    same point twice is Gamma reached from both sides with the non-analytical correction (shown once, where the LO
    branch jumps).
    """
    kpoints = bands.get_kpoints(cartesian=True)
    frequencies = bands.get_bands()
    labels = dict(bands.labels)
    jumps = [index for index in labels if index + 1 in labels]
    starts, stops = [0, *(index + 1 for index in jumps)], [*(index + 1 for index in jumps), len(kpoints)]
    segments, ticks, distance = [], [], 0.0
    for start, stop in zip(starts, stops, strict=True):
        steps = np.linalg.norm(np.diff(kpoints[start:stop], axis=0), axis=1)
        x = distance + np.concatenate([[0.0], np.cumsum(steps)])
        segments.append((x, frequencies[start:stop]))
        for index in range(start, stop):
            if index not in labels:
                continue
            name, position = LABELS.get(labels[index], labels[index]), x[index - start]
            if ticks and abs(ticks[-1][0] - position) < 1e-9:
                if ticks[-1][1] != name:
                    ticks[-1] = (position, f'{ticks[-1][1]}|{name}')
            else:
                ticks.append((position, name))
        distance = x[-1]
    return segments, ticks


def plot_phonons(
    bands: BandsData,
    dos: XyData,
    output: Path,
    title: str,
    compare: tuple[BandsData, XyData, str] | None = None,
    label: str = 'restored',
    reference: dict[str, list[float]] | None = None,
) -> Path:
    """Write the figure to ``output`` (format from its suffix: png or pdf).

    ``reference`` puts frequencies from elsewhere (e.g. DFPT, THz) as points on the labelled q-points.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, (axis_bands, axis_dos) = plt.subplots(
        1, 2, figsize=(9, 5), sharey=True, gridspec_kw={'width_ratios': [4, 1], 'wspace': 0.05}
    )
    runs = [(bands, dos, label, 'tab:blue', '-')]
    if compare is not None:
        runs.insert(0, (*compare, 'tab:orange', '--'))
    for run_bands, run_dos, run_label, color, style in runs:
        segments, ticks = _segments(run_bands)
        for index, (x, frequencies) in enumerate(segments):
            lines = axis_bands.plot(x, frequencies, color=color, linestyle=style, linewidth=1.2)
            if index == 0:
                lines[0].set_label(run_label)  # one legend entry per run, not per branch
        frequency, density = run_dos.get_x()[1], run_dos.get_y()[0][1]
        axis_dos.plot(density, frequency, color=color, linestyle=style, linewidth=1.2)
    for position, tick_label in ticks if reference else ():
        for name in tick_label.split('|'):
            frequencies = reference.get(SEEKPATH_LABELS.get(name, name), [])
            axis_bands.plot([position] * len(frequencies), frequencies, 'o', color='black', markersize=4)
    lowest = min(0.0, *(run[0].get_bands().min() for run in runs))
    highest = max(run[0].get_bands().max() for run in runs)
    margin = 0.04 * (highest - lowest)
    axis_bands.set_ylim(lowest - margin, highest + margin)
    for position, _ in ticks:
        axis_bands.axvline(position, color='0.6', linewidth=0.6)
    axis_bands.axhline(0.0, color='0.3', linewidth=0.6)
    axis_bands.set_xticks([t[0] for t in ticks], [t[1] for t in ticks])
    axis_bands.set_xlim(ticks[0][0], ticks[-1][0])
    axis_bands.set_ylabel('Frequency (THz)')
    axis_bands.set_title(title)
    if compare is not None:
        axis_bands.legend(loc='best', framealpha=0.9)
    axis_dos.set_xlabel('DOS (states/THz)')
    axis_dos.set_xlim(left=0)
    figure.savefig(output, dpi=150, bbox_inches='tight')
    plt.close(figure)
    return output


def plot_conductivity(
    kappa: ArrayData, cumulative: ArrayData, output: Path, title: str, temperature: float = 300.0
) -> Path:
    """kappa(T) (the three diagonal components) beside the cumulative kappa against phonon frequency at the
    temperature nearest ``temperature``; written to ``output`` (png or pdf)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    temperatures, tensor = kappa.get_array('temperatures'), kappa.get_array('kappa')
    figure, (axis_kappa, axis_cumulative) = plt.subplots(1, 2, figsize=(10, 4.5))
    for index, component in enumerate(('xx', 'yy', 'zz')):
        axis_kappa.plot(temperatures, tensor[:, index], marker='o', markersize=3, label=f'$\\kappa_{{{component}}}$')
    axis_kappa.set_xlabel('Temperature (K)')
    axis_kappa.set_ylabel('$\\kappa$ (W/m-K)')
    axis_kappa.set_yscale('log')
    axis_kappa.legend(loc='best')
    axis_kappa.set_title(title)
    nearest = int(np.abs(cumulative.get_array('temperatures') - temperature).argmin())
    axis_cumulative.plot(cumulative.get_array('frequencies'), cumulative.get_array('kappa')[nearest])
    axis_cumulative.set_xlabel('Frequency (THz)')
    axis_cumulative.set_ylabel('Cumulative $\\kappa$ (W/m-K)')
    axis_cumulative.set_title(f'{cumulative.get_array("temperatures")[nearest]:g} K')
    axis_cumulative.set_ylim(bottom=0)
    figure.savefig(output, dpi=150, bbox_inches='tight')
    plt.close(figure)
    return output


def plot_qha(qha: ArrayData, gruneisen: ArrayData, output: Path, title: str) -> Path:
    """Linear thermal expansion beta/3 against T (dashed where V(T) leaves the sampled volumes) beside the mode
    Grüneisen parameters along the band path; written to ``output`` (png or pdf)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    temperatures = qha.get_array('temperatures')
    linear = qha.get_array('volumetric_thermal_expansion') / 3 * 1e6
    extrapolated = qha.get_array('extrapolated')
    figure, (axis_alpha, axis_gamma) = plt.subplots(1, 2, figsize=(10, 4.5))
    axis_alpha.plot(temperatures[~extrapolated], linear[~extrapolated], color='tab:blue')
    if extrapolated.any():
        axis_alpha.plot(temperatures[extrapolated], linear[extrapolated], color='tab:blue', linestyle='--')
    axis_alpha.axhline(0.0, color='0.3', linewidth=0.6)
    axis_alpha.set_xlabel('Temperature (K)')
    axis_alpha.set_ylabel('Linear thermal expansion $\\beta/3$ ($10^{-6}$/K)')
    axis_alpha.set_title(title)
    distances, gamma = gruneisen.get_array('distances'), gruneisen.get_array('gamma')
    axis_gamma.plot(distances, gamma, '.', markersize=2, color='tab:orange')
    axis_gamma.axhline(0.0, color='0.3', linewidth=0.6)
    axis_gamma.set_xlabel('Distance along the band path (1/A)')
    axis_gamma.set_ylabel('Mode Grüneisen parameter')
    axis_gamma.set_ylim(np.nanpercentile(gamma, 1) - 0.5, np.nanpercentile(gamma, 99) + 0.5)
    figure.savefig(output, dpi=150, bbox_inches='tight')
    plt.close(figure)
    return output
