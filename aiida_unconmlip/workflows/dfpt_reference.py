"""``unconmlip.dfpt_reference``: DFPT phonons (and, for a polar crystal, Born charges and the dielectric tensor) with
the same DFT as the reference set: the yardstick a model trained on that set is judged by, and the source of the
non-analytical correction of its phonons."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ToContext, WorkChain, calcfunction, if_

from ..data import BornChargesData
from ..phonons.nac import BornCharges
from .protocols import load_protocol, recursive_merge

CM1_TO_THZ = 0.0299792458
# Where the q-points of the fcc primitive cell (ASE's bulk setting) lie, in its reciprocal basis.
FCC_QPOINTS = {'GAMMA': [0.0, 0.0, 0.0], 'X': [0.5, 0.0, 0.5], 'L': [0.5, 0.5, 0.5]}
# Debian's ph.x 6.7 allows a mixing history of at most 5.
PH_OVERRIDES = {'ph': {'parameters': {'INPUTPH': {'nmix_ph': 4}}}}


def fractional_q(q_alat: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """ph.x's q (Cartesian, units of 2 pi / alat, alat the length of the first cell vector) in the cell's reciprocal
    basis: q_i = a_i . q / alat."""
    return np.asarray(cell) @ np.asarray(q_alat) / np.linalg.norm(cell[0])


def q_label(q: np.ndarray, labels: dict[str, list[float]]) -> str:
    """The given label of ``q`` (equal up to a reciprocal lattice vector), else its coordinates as text."""
    for label, point in labels.items():
        difference = q - np.asarray(point)
        if np.abs(difference - np.rint(difference)).max() < 1e-4:
            return label
    return ' '.join(f'{value:g}' for value in np.round(q, 6) + 0.0)


@calcfunction
def dfpt_frequencies(ph_parameters: orm.Dict, structure: orm.StructureData, qpoints: orm.Dict) -> orm.Dict:
    """Frequencies (THz) at each q-point ph.x computed, keyed by the label given for it in ``qpoints`` (fractional
    in ``structure``'s reciprocal basis) or by its fractional coordinates, and those coordinates."""
    labels = qpoints.get_dict()
    frequencies, coordinates = {}, {}
    for key, value in ph_parameters.get_dict().items():
        if not key.startswith('dynamical_matrix_'):
            continue
        q = fractional_q(np.array(value['q_point']), np.array(structure.cell))
        label = q_label(q, labels)
        if label in frequencies:
            raise ValueError(f'two q-points of ph.x are both {label}')
        frequencies[label] = sorted(float(f) * CM1_TO_THZ for f in value['frequencies'])
        coordinates[label] = (np.round(q, 10) + 0.0).tolist()
    return orm.Dict({'frequencies_thz': frequencies, 'qpoints': coordinates})


@calcfunction
def born_charges_from_ph(ph_parameters: orm.Dict, structure: orm.StructureData) -> BornChargesData:
    """ph.x's effective charges (d force / d field, ``effective_charges_eu``: rows the field, as ph.x prints them and
    phonopy reads them; before any acoustic sum rule) and high-frequency dielectric tensor, in the Cartesian frame
    and atom order of the structure ph.x ran on."""
    parameters = ph_parameters.get_dict()
    missing = [key for key in ('effective_charges_eu', 'dielectric_constant') if key not in parameters]
    if missing:
        raise ValueError(f'ph.x reported no {", ".join(missing)}: was it run with epsil on an insulator?')
    charges = BornCharges(
        structure.get_ase(),
        np.array(parameters['effective_charges_eu'], dtype=float),
        np.array(parameters['dielectric_constant'], dtype=float),
    )
    return BornChargesData.from_charges(charges)


class DfptReferenceWorkChain(WorkChain):
    """pw.x vc-relax (optional) and scf, then ph.x at the q-points asked for (or on a grid), and with ``dielectric``
    ph.x at Gamma with the electric field for the Born charges and the dielectric tensor. Any cell."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='The crystal (any cell; ph.x runs on it).')
        spec.input('pw_code', valid_type=orm.AbstractCode)
        spec.input('ph_code', valid_type=orm.AbstractCode)
        spec.input('pseudo_family', valid_type=orm.Str)
        spec.input(
            'dft',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            help='Overrides of the PwBaseWorkChain protocol, as in the reference set.',
        )
        spec.input('options', valid_type=orm.Dict, default=lambda: orm.Dict({}))
        spec.input('relax', valid_type=orm.Bool, default=lambda: orm.Bool(True), help='vc-relax before the scf.')
        spec.input(
            'qpoints',
            valid_type=orm.Dict,
            required=False,
            help='{label: [q1, q2, q3]}: the q-points, fractional in the reciprocal basis of the structure. Without '
            'it, ph.x runs on the grid `qpoints_mesh` and the frequencies are labelled by their coordinates.',
        )
        spec.input(
            'qpoints_mesh',
            valid_type=orm.List,
            default=lambda: orm.List([2, 2, 2]),
            help='Gamma-centred q grid when `qpoints` is not given.',
        )
        spec.input(
            'dielectric',
            valid_type=orm.Bool,
            default=lambda: orm.Bool(False),
            help='Also ph.x at Gamma in an electric field (epsil): Born charges and dielectric tensor, for insulators.',
        )
        spec.outline(
            if_(cls.should_relax)(cls.relax),
            cls.scf,
            cls.phonons,
            cls.results,
        )
        spec.output('relaxed_structure', valid_type=orm.StructureData, required=False, help='With relax.')
        spec.output('frequencies', valid_type=orm.Dict, help='frequencies_thz and qpoints, by label.')
        spec.output(
            'born_charges', valid_type=BornChargesData, required=False, help='With dielectric: for --born / NAC.'
        )
        spec.exit_code(401, 'ERROR_RELAX_FAILED', message='The pw.x vc-relax failed.')
        spec.exit_code(402, 'ERROR_PHONONS_FAILED', message='ph.x failed.')
        spec.exit_code(403, 'ERROR_SCF_FAILED', message='The pw.x scf failed.')
        spec.exit_code(404, 'ERROR_DIELECTRIC_FAILED', message='ph.x in an electric field failed: {message}')

    @classmethod
    def get_builder_from_reference_protocol(
        cls, pw_code, ph_code, structure, pseudo_family: str, protocol: str | None = None
    ):
        """The same DFT settings as ``unconmlip.reference_set`` with ``protocol``; q-points Gamma, X and L of an
        fcc primitive cell in ASE's setting (the Si reference), which a caller replaces for other crystals."""
        _, inputs = load_protocol('reference_set', protocol)
        builder = cls.get_builder()
        builder.structure = structure
        builder.pw_code, builder.ph_code = pw_code, ph_code
        builder.pseudo_family = orm.Str(pseudo_family)
        builder.dft = orm.Dict(inputs['dft'])
        builder.options = orm.Dict(inputs['options'])
        builder.qpoints = orm.Dict(FCC_QPOINTS)
        return builder

    def should_relax(self) -> bool:
        return self.inputs.relax.value

    def _base_overrides(self) -> dict:
        return recursive_merge(self.inputs.dft.get_dict(), {'pseudo_family': self.inputs.pseudo_family.value})

    def relax(self):
        from aiida_quantumespresso.common.types import RelaxType
        from aiida_quantumespresso.workflows.pw.relax import PwRelaxWorkChain

        base = self._base_overrides()
        builder = PwRelaxWorkChain.get_builder_from_protocol(
            self.inputs.pw_code,
            self.inputs.structure,
            overrides={'base_relax': base, 'base_init_relax': base},
            relax_type=RelaxType.CELL,
            options=self.inputs.options.get_dict(),
        )
        node = self.submit(builder)
        self.report(f'launched PwRelaxWorkChain<{node.pk}> (vc-relax)')
        return ToContext(relax=node)

    def scf(self):
        from aiida_quantumespresso.workflows.pw.base import PwBaseWorkChain

        if self.should_relax():
            if not self.ctx.relax.is_finished_ok:
                return self.exit_codes.ERROR_RELAX_FAILED
            self.ctx.structure = self.ctx.relax.outputs.output_structure
        else:
            self.ctx.structure = self.inputs.structure
        builder = PwBaseWorkChain.get_builder_from_protocol(
            self.inputs.pw_code,
            self.ctx.structure,
            overrides=self._base_overrides(),
            options=self.inputs.options.get_dict(),
        )
        if self.inputs.dielectric.value:  # ph.x has no electric field for metals: fixed occupations, no smearing
            parameters = builder.pw.parameters.get_dict()
            parameters['SYSTEM'] = {
                **{key: value for key, value in parameters['SYSTEM'].items() if key not in ('smearing', 'degauss')},
                'occupations': 'fixed',
            }
            builder.pw.parameters = orm.Dict(parameters)
        node = self.submit(builder)
        self.report(f'launched PwBaseWorkChain<{node.pk}> (scf)')
        return ToContext(scf=node)

    def _ph_builder(self, qpoints: orm.KpointsData, overrides: dict):
        from aiida_quantumespresso.workflows.ph.base import PhBaseWorkChain

        builder = PhBaseWorkChain.get_builder_from_protocol(
            self.inputs.ph_code,
            parent_folder=self.ctx.scf.outputs.remote_folder,
            overrides=recursive_merge(PH_OVERRIDES, overrides),
            options=self.inputs.options.get_dict(),
        )
        builder.qpoints = qpoints
        builder.pop('qpoints_distance', None)
        return builder

    def phonons(self):
        if not self.ctx.scf.is_finished_ok:
            return self.exit_codes.ERROR_SCF_FAILED
        qpoints = orm.KpointsData()
        qpoints.set_cell_from_structure(self.ctx.structure)
        if 'qpoints' in self.inputs:
            qpoints.set_kpoints(list(self.inputs.qpoints.get_dict().values()))
            where = f'at {", ".join(self.inputs.qpoints.get_dict())}'
        else:
            qpoints.set_kpoints_mesh(self.inputs.qpoints_mesh.get_list())
            where = f'on a {"x".join(map(str, self.inputs.qpoints_mesh.get_list()))} q grid'
        node = self.submit(self._ph_builder(qpoints, {}))
        self.report(f'launched PhBaseWorkChain<{node.pk}> {where}')
        jobs = {'phonons': node}
        if self.inputs.dielectric.value:
            gamma = orm.KpointsData()
            gamma.set_cell_from_structure(self.ctx.structure)
            gamma.set_kpoints([[0.0, 0.0, 0.0]])
            field = {'ph': {'parameters': {'INPUTPH': {'epsil': True, 'trans': False}}}}
            jobs['dielectric'] = self.submit(self._ph_builder(gamma, field))
            self.report(f'launched PhBaseWorkChain<{jobs["dielectric"].pk}> at Gamma in an electric field')
        return ToContext(**jobs)

    def results(self):
        if not self.ctx.phonons.is_finished_ok:
            return self.exit_codes.ERROR_PHONONS_FAILED
        labels = self.inputs.qpoints if 'qpoints' in self.inputs else orm.Dict({'GAMMA': [0.0, 0.0, 0.0]})
        frequencies = dfpt_frequencies(self.ctx.phonons.outputs.output_parameters, self.ctx.structure, labels)
        if self.should_relax():
            self.out('relaxed_structure', self.ctx.structure)
        self.out('frequencies', frequencies)
        self.report(f'DFPT frequencies (THz): {frequencies["frequencies_thz"]}')
        if self.inputs.dielectric.value:
            dielectric = self.ctx.dielectric
            if not dielectric.is_finished_ok:
                return self.exit_codes.ERROR_DIELECTRIC_FAILED.format(message=dielectric.exit_message)
            parameters = dielectric.outputs.output_parameters
            if 'effective_charges_eu' not in parameters.get_dict():
                message = 'ph.x reported no effective charges: is the crystal an insulator?'
                return self.exit_codes.ERROR_DIELECTRIC_FAILED.format(message=message)
            self.out('born_charges', born_charges_from_ph(parameters, self.ctx.structure))
        return None
