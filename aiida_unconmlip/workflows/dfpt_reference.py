"""``unconmlip.dfpt_reference``: DFPT phonons at Gamma, X and L with the same DFT as the reference set, the
yardstick a model trained on that set is judged by."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ToContext, WorkChain, calcfunction

from .protocols import load_protocol, recursive_merge

CM1_TO_THZ = 0.0299792458
Q_POINTS = {'GAMMA': 0.0, 'L': np.sqrt(3) / 2, 'X': 1.0}  # |q| in units of 2 pi / a (conventional a)


@calcfunction
def dfpt_frequencies(ph_parameters: orm.Dict, structure: orm.StructureData) -> orm.Dict:
    """Frequencies (THz) at Gamma, X and L from ph.x's dynamical matrices, and the lattice constant used.

    ph.x gives q in units of 2 pi / alat, with alat the length of the first cell vector (the fcc primitive
    vector, a / sqrt(2)); they are classified by their length in units of 2 pi / a.
    """
    parameters = ph_parameters.get_dict()
    alat = float(np.linalg.norm(structure.cell[0]))
    conventional_a = alat * np.sqrt(2)
    frequencies = {}
    for key, value in parameters.items():
        if not key.startswith('dynamical_matrix_'):
            continue
        length = float(np.linalg.norm(value['q_point'])) * conventional_a / alat
        label = min(Q_POINTS, key=lambda name: abs(Q_POINTS[name] - length))
        if label in frequencies:
            raise ValueError(f'two q-points classified as {label}: is the cell the fcc primitive one?')
        frequencies[label] = sorted(float(f) * CM1_TO_THZ for f in value['frequencies'])
    return orm.Dict({'frequencies_thz': frequencies, 'lattice_constant_angstrom': conventional_a})


class DfptReferenceWorkChain(WorkChain):
    """vc-relax and scf with pw.x, then ph.x on a 2x2x2 q grid (Gamma, X, L for the fcc primitive cell)."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='Primitive cell of an fcc-lattice crystal.')
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
        spec.outline(cls.relax, cls.scf, cls.phonons, cls.results)
        spec.output('relaxed_structure', valid_type=orm.StructureData)
        spec.output('frequencies', valid_type=orm.Dict)
        spec.exit_code(401, 'ERROR_RELAX_FAILED', message='The vc-relax or the scf failed.')
        spec.exit_code(402, 'ERROR_PHONONS_FAILED', message='ph.x failed.')

    @classmethod
    def get_builder_from_reference_protocol(
        cls, pw_code, ph_code, structure, pseudo_family: str, protocol: str | None = None
    ):
        """The same DFT settings as ``unconmlip.reference_set`` with ``protocol``."""
        _, inputs = load_protocol('reference_set', protocol)
        builder = cls.get_builder()
        builder.structure = structure
        builder.pw_code, builder.ph_code = pw_code, ph_code
        builder.pseudo_family = orm.Str(pseudo_family)
        builder.dft = orm.Dict(inputs['dft'])
        builder.options = orm.Dict(inputs['options'])
        return builder

    def relax(self):
        from aiida_quantumespresso.common.types import RelaxType
        from aiida_quantumespresso.workflows.pw.relax import PwRelaxWorkChain

        base = recursive_merge(self.inputs.dft.get_dict(), {'pseudo_family': self.inputs.pseudo_family.value})
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

        if not self.ctx.relax.is_finished_ok:
            return self.exit_codes.ERROR_RELAX_FAILED
        base = recursive_merge(self.inputs.dft.get_dict(), {'pseudo_family': self.inputs.pseudo_family.value})
        builder = PwBaseWorkChain.get_builder_from_protocol(
            self.inputs.pw_code,
            self.ctx.relax.outputs.output_structure,
            overrides=base,
            options=self.inputs.options.get_dict(),
        )
        node = self.submit(builder)
        self.report(f'launched PwBaseWorkChain<{node.pk}> (scf at the relaxed lattice constant)')
        return ToContext(scf=node)

    def phonons(self):
        from aiida_quantumespresso.workflows.ph.base import PhBaseWorkChain

        if not self.ctx.scf.is_finished_ok:
            return self.exit_codes.ERROR_RELAX_FAILED
        builder = PhBaseWorkChain.get_builder_from_protocol(
            self.inputs.ph_code,
            parent_folder=self.ctx.scf.outputs.remote_folder,
            overrides={'ph': {'parameters': {'INPUTPH': {'nmix_ph': 4}}}},  # Debian's ph.x 6.7 allows at most 5
            options=self.inputs.options.get_dict(),
        )
        qpoints = orm.KpointsData()
        qpoints.set_kpoints_mesh([2, 2, 2])
        builder.qpoints = qpoints
        builder.pop('qpoints_distance', None)
        node = self.submit(builder)
        self.report(f'launched PhBaseWorkChain<{node.pk}> on a 2x2x2 q grid')
        return ToContext(phonons=node)

    def results(self):
        if not self.ctx.phonons.is_finished_ok:
            return self.exit_codes.ERROR_PHONONS_FAILED
        relaxed = self.ctx.relax.outputs.output_structure
        frequencies = dfpt_frequencies(self.ctx.phonons.outputs.output_parameters, relaxed)
        self.out('relaxed_structure', relaxed)
        self.out('frequencies', frequencies)
        self.report(f'DFPT frequencies (THz): {frequencies["frequencies_thz"]}')
        return None
