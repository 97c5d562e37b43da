"""``aiida-unconmlip computer-template SCHEDULER DIR``: the files ``verdi computer setup/configure`` and ``verdi code
create`` take, for a cluster reached over SSH."""

from __future__ import annotations

from pathlib import Path

import click

SCHEDULERS = {'slurm': ('core.slurm', 'srun'), 'pbspro': ('core.pbspro', 'mpirun -np {tot_num_mpiprocs}')}

COMPUTER = """# verdi computer setup --config {path}
label: {label}
hostname: {hostname}
description: GPU cluster for aiida-unconmlip
transport: core.ssh
scheduler: {scheduler}
shebang: '#!/bin/bash'
work_dir: {work_dir}
mpirun_command: {mpirun}
mpiprocs_per_machine: 1
use_double_quotes: false
prepend_text: ''
append_text: ''
"""

TRANSPORT = """# verdi computer configure core.ssh {label} --config {path}
username: {username}
port: 22
look_for_keys: true
key_policy: RejectPolicy
load_system_host_keys: true
safe_interval: 5.0
timeout: 60
use_login_shell: true
"""

CODE = """# verdi code create core.code.installed --config {path}
label: unconmlip-engine
computer: {label}
description: aiida-unconmlip compute-node engine
default_calc_job_plugin: unconmlip.evaluate
filepath_executable: {engine}
use_double_quotes: false
# What a job needs before the engine starts: modules, the environment where aiida-unconmlip is installed,
# and (only if you use them) ASE calculators beyond the built-in ones.
prepend_text: |
  # module load cuda/12.4
  # source /path/to/venv/bin/activate   (or: conda activate unconmlip)
  # export UNCONMLIP_ALLOWED_CALCULATORS=mace.calculators
append_text: ''
"""


@click.command('computer-template')
@click.argument('scheduler', type=click.Choice(sorted(SCHEDULERS)))
@click.argument('folder', type=click.Path(file_okay=False, path_type=Path))
@click.option('--label', default='cluster', show_default=True, help='Label of the computer.')
@click.option('--hostname', default='login.cluster.example', show_default=True, help='Host to reach over SSH.')
@click.option('--username', default='your-username', show_default=True, help='Login name on the cluster.')
@click.option('--work-dir', default='/scratch/{username}/aiida', show_default=True, help='Where jobs run.')
@click.option(
    '--engine',
    default='/path/to/venv/bin/unconmlip-engine',
    show_default=True,
    help='unconmlip-engine of the environment installed on the cluster.',
)
def computer_template(scheduler, folder, label, hostname, username, work_dir, engine):
    """Write computer-LABEL.yaml, computer-LABEL-ssh.yaml and code-unconmlip-engine-LABEL.yaml into FOLDER, and print
    the verdi commands that use them. Edit the marked lines, then run the commands."""
    scheduler_type, mpirun = SCHEDULERS[scheduler]
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        folder / f'computer-{label}.yaml': COMPUTER,
        folder / f'computer-{label}-ssh.yaml': TRANSPORT,
        folder / f'code-unconmlip-engine-{label}.yaml': CODE,
    }
    for path, template in files.items():
        path.write_text(
            template.format(
                path=path.name,
                label=label,
                hostname=hostname,
                username=username,
                work_dir=work_dir,
                scheduler=scheduler_type,
                mpirun=mpirun,
                engine=engine,
            )
        )
        click.echo(path.read_text().splitlines()[0].lstrip('# '))
