"""``aiida-unconmlip setup --with-dft``: pw.x and ph.x codes on localhost and the pseudopotential family."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml

TABLE = Path(__file__).with_name('pseudopotentials.yaml')
# Open MPI refuses to run as root unless told it may (CI and these machines run as root).
MPI_ROOT_ENVIRONMENT = 'export OMPI_ALLOW_RUN_AS_ROOT=1\nexport OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1'
DFT_CODES = {'pw': ('pw.x', 'quantumespresso.pw'), 'ph': ('ph.x', 'quantumespresso.ph')}


class DftSetupError(RuntimeError):
    """Something the DFT set-up needs is missing; the message says how to install it."""


def pseudopotential_table() -> dict:
    return yaml.safe_load(TABLE.read_text())


def family_label() -> str:
    return pseudopotential_table()['family']


def ensure_dft_codes(computer) -> dict[str, object]:
    """``pw.x@<computer>`` and ``ph.x@<computer>`` as InstalledCodes (created if absent)."""
    from aiida.orm import InstalledCode

    codes = {}
    for name, (executable, plugin) in DFT_CODES.items():
        existing = [
            c for c in InstalledCode.collection.find(filters={'label': executable}) if c.computer.pk == computer.pk
        ]
        if existing:
            codes[name] = existing[0]
            continue
        path = shutil.which(executable)
        if path is None:
            raise DftSetupError(
                f'{executable} is not installed: run `make system-packages` (Debian: apt-get install quantum-espresso)'
            )
        codes[name] = InstalledCode(
            computer=computer,
            filepath_executable=path,
            label=executable,
            default_calc_job_plugin=plugin,
            prepend_text=MPI_ROOT_ENVIRONMENT,
            description=f'Quantum ESPRESSO {executable} (Debian)',
        ).store()
    return codes


def ensure_pseudo_family():
    """The family of ``pseudopotentials.yaml`` (one Debian UPF file per element) with its recommended cutoffs; an
    existing family gains the elements the table has added since (its other pseudopotentials stay as they are)."""
    from aiida.common.exceptions import NotExistent
    from aiida.orm import Group
    from aiida_pseudo.data.pseudo import UpfData
    from aiida_pseudo.groups.family import CutoffsPseudoPotentialFamily

    table = pseudopotential_table()
    try:
        family = Group.collection.get(label=table['family'])
    except NotExistent:
        family = None
    present = set(family.elements) if family is not None else set()
    wanted = {element: entry for element, entry in table['elements'].items() if element not in present}
    if not wanted:
        return family
    source = Path(table['folder'])
    missing = [entry['file'] for entry in wanted.values() if not (source / entry['file']).is_file()]
    if missing:
        raise DftSetupError(
            f'pseudopotential files {missing} are not in {source}: run `make system-packages` '
            '(Debian: apt-get install quantum-espresso-data)'
        )
    if family is None:
        with tempfile.TemporaryDirectory() as folder:
            for entry in wanted.values():
                shutil.copy(source / entry['file'], Path(folder) / entry['file'])
            family = CutoffsPseudoPotentialFamily.create_from_folder(
                Path(folder), table['family'], description='Debian quantum-espresso-data 6.7, PBE', pseudo_type=UpfData
            )
    else:
        family.add_nodes([UpfData.get_or_create(source / entry['file']).store() for entry in wanted.values()])
    cutoffs = {
        element: {'cutoff_wfc': entry['cutoff_wfc'], 'cutoff_rho': entry['cutoff_rho']}
        for element, entry in table['elements'].items()
    }
    family.set_cutoffs(cutoffs, 'standard', unit='Ry')
    return family
