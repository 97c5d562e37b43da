"""The compute-node engine must run where AiiDA is not installed or configured."""

import subprocess
import sys


def test_engine_imports_without_aiida():
    code = (
        'import sys, aiida_unconmlip.engine, aiida_unconmlip.engine.__main__, aiida_unconmlip.engine.io\n'
        'import aiida_unconmlip.engine.jobs, aiida_unconmlip.engine.warm\n'
        'import aiida_unconmlip.engine.potentials.ase_backend, aiida_unconmlip.engine.potentials.metatomic_backend\n'
        'import aiida_unconmlip.engine.phonopy_task, aiida_unconmlip.engine.phono3py_task\n'
        'import aiida_unconmlip.phonons.calculation, aiida_unconmlip.conductivity.calculation, aiida_unconmlip.qha\n'
        'assert not any(name == "aiida" or name.startswith("aiida.") for name in sys.modules), "aiida imported"\n'
    )
    subprocess.run([sys.executable, '-c', code], check=True)
