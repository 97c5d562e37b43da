"""The committed DFT yardstick of Si's kappa: every force is a pw.x run's, and phono3py alone gives back the archived
kappa from the archived forces."""

import numpy as np
import phono3py
import pytest
from aiida.orm import CalcJobNode, QueryBuilder, WorkChainNode
from aiida.tools.archive import import_archive
from aiida_pseudo.data.pseudo import UpfData

from aiida_unconmlip.data import ForceSetData
from aiida_unconmlip.models.recipes.silicon_kappa_yardstick import ARCHIVE, CONDUCTIVITY, DISPLACEMENTS, LABEL


@pytest.fixture(scope='module')
def yardstick(aiida_profile):
    import_archive(ARCHIVE)
    return QueryBuilder().append(WorkChainNode, filters={'label': LABEL}).one()[0]


def test_every_force_is_a_pw_run_with_the_pseudopotential(yardstick):
    forces = yardstick.outputs.forces
    trajectories = forces.creator.base.links.get_incoming(link_label_filter='trajectory_%').all()
    assert len(trajectories) == len(forces) == 2 * DISPLACEMENTS['random_snapshots']
    for link in trajectories:
        run = link.node.creator
        assert isinstance(run, CalcJobNode) and run.process_type.endswith('quantumespresso.pw')
        assert run.is_finished_ok
    pseudos = QueryBuilder().append(ForceSetData, filters={'id': forces.pk}, tag='forces')
    pseudos.append(UpfData, with_descendants='forces', project=['attributes.element', 'attributes.filename'])
    assert pseudos.distinct().all() == [['Si', 'Si.pbe-rrkj.UPF']]
    for supercell_forces in forces.get_list():
        assert supercell_forces.shape == (16, 3)
        assert np.abs(supercell_forces.sum(axis=0)).max() < 1e-3  # pw.x's forces carry (almost) no net force


def test_phono3py_alone_gives_the_archived_kappa_from_the_archived_forces(yardstick):
    job = yardstick.base.links.get_outgoing(link_label_filter='phono3py').one().node
    with job.inputs.phono3py_setup.as_path() as path:
        ph3 = phono3py.load(path, produce_fc=False, log_level=0)
    ph3.forces = np.array(yardstick.outputs.forces.get_list())
    ph3.produce_fc3(fc_calculator='symfc')
    ph3.symmetrize_fc3(use_symfc_projector=True)  # the job's force_constant_symmetrization, on by default
    ph3.symmetrize_fc2(use_symfc_projector=True)
    ph3.mesh_numbers = CONDUCTIVITY['mesh']
    ph3.init_phph_interaction()
    temperatures = yardstick.outputs.kappa.get_array('temperatures')
    ph3.run_thermal_conductivity(temperatures=temperatures)
    archived = yardstick.outputs.kappa.get_array('kappa')
    np.testing.assert_allclose(archived, ph3.thermal_conductivity.kappa[0], rtol=1e-6, atol=1e-6)
    at_300 = archived[list(temperatures).index(300.0)]
    np.testing.assert_allclose(at_300[:3], at_300[0], rtol=1e-6)  # cubic: isotropic
