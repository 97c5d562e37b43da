"""The production path on one machine: PostgreSQL, RabbitMQ, a one-node SLURM cluster and sshd, all on loopback,
with their state in ``.services/`` of the project; the AiiDA profile ``unconmlip-cluster`` on them, the computer
``slurm-loopback`` (``core.ssh`` + ``core.slurm``, what users configure for a cluster) and its engine code.

Usage (``make services``, ``make services-stop``, ``make services-status``)::

    python services/cluster.py start|stop|status

Idempotent and without prompts: what runs already is left running. Run as root (the services drop to their own
users where they need one). Nothing listens beyond 127.0.0.1; the database password is generated here and kept in
``.services/secrets.json`` (mode 600) and in the AiiDA configuration, never in the repository or a log.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
STATE = PROJECT / '.services'
BIN = Path(sys.executable).parent
PROFILE = 'unconmlip-cluster'
COMPUTER = 'slurm-loopback'
PORTS = {'postgres': 5433, 'amqp': 5673, 'rabbit_dist': 25673, 'ssh': 2222, 'slurmctld': 6817, 'slurmd': 6818}
PACKAGES = ('slurmctld', 'slurmd', 'slurm-client', 'munge', 'rabbitmq-server', 'openssh-server', 'postgresql')
POSTGRES_BIN = Path('/usr/lib/postgresql/15/bin')
# Debian's wrappers in /usr/sbin switch to the rabbitmq user and its cookie: call the scripts themselves.
RABBITMQ_BIN = Path('/usr/lib/rabbitmq/bin')
AIIDA_ENV = {'AIIDA_PATH': str(PROJECT), 'PATH': f'{BIN}{os.pathsep}{os.environ.get("PATH", "")}'}


def run(command: list, check: bool = True, env: dict | None = None, user: str | None = None, **kwargs):
    """Run a command (as ``user`` if given), output captured; a failure says which command and why."""
    if user is not None:
        command = ['runuser', '-u', user, '--', *command]
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, env={**os.environ, **(env or {})}, **kwargs
    )
    if check and result.returncode != 0:
        raise SystemExit(f'{" ".join(map(str, command))} failed ({result.returncode}):\n{result.stdout}{result.stderr}')
    return result


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(('127.0.0.1', port)) == 0


def wait_for(what: str, condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f'{what} did not come up within {timeout:.0f} s; see the logs in {STATE}')
        time.sleep(0.3)


def pid_alive(pid_file: Path) -> int | None:
    """The pid in ``pid_file`` if that process runs."""
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError, IndexError):
        return None


def secret(name: str) -> str:
    path = STATE / 'secrets.json'
    values = json.loads(path.read_text()) if path.is_file() else {}
    if name not in values:
        values[name] = secrets.token_urlsafe(24)
        path.write_text(json.dumps(values))
        path.chmod(0o600)
    return values[name]


# --- packages -----------------------------------------------------------------------------------------------------


def ensure_packages() -> None:
    missing = [name for name in PACKAGES if run(['dpkg', '-s', name], check=False).returncode != 0]
    if missing:
        run(['apt-get', 'update', '-qq'])
        run(
            ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', *missing],
            env={'DEBIAN_FRONTEND': 'noninteractive'},
        )


# --- PostgreSQL ---------------------------------------------------------------------------------------------------


def postgres_running() -> bool:
    return listening(PORTS['postgres'])


def start_postgres() -> None:
    data, sockets = STATE / 'postgres' / 'data', STATE / 'postgres' / 'sockets'
    if not (data / 'PG_VERSION').is_file():
        data.mkdir(parents=True, exist_ok=True)
        shutil.chown(data.parent, 'postgres', 'postgres')
        shutil.chown(data, 'postgres', 'postgres')
        data.chmod(0o700)
        run(
            [POSTGRES_BIN / 'initdb', '-D', data, '--locale=C.UTF-8', '--encoding=UTF8', '--auth-local=peer'],
            user='postgres',
        )
        with (data / 'pg_hba.conf').open('a') as hba:
            hba.write('host all all 127.0.0.1/32 scram-sha-256\n')
    sockets.mkdir(parents=True, exist_ok=True)
    shutil.chown(sockets, 'postgres', 'postgres')
    if not postgres_running():
        options = f'-p {PORTS["postgres"]} -k {sockets} -c listen_addresses=127.0.0.1'
        run(
            [
                POSTGRES_BIN / 'pg_ctl',
                '-D',
                data,
                '-l',
                STATE / 'postgres' / 'postgres.log',
                '-o',
                options,
                '-w',
                'start',
            ],
            user='postgres',
        )
    sql = (
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'unconmlip') THEN "
        f"CREATE ROLE unconmlip LOGIN PASSWORD '{secret('postgres')}'; END IF; END $$;"
    )
    psql = ['psql', '-h', sockets, '-p', PORTS['postgres'], '-v', 'ON_ERROR_STOP=1', '-q']
    run([*psql, '-f', '-'], user='postgres', input=sql)
    exists = run([*psql, '-tAc', "SELECT 1 FROM pg_database WHERE datname = 'unconmlip_cluster'"], user='postgres')
    if exists.stdout.strip() != '1':
        run(
            [*psql, '-c', 'CREATE DATABASE unconmlip_cluster OWNER unconmlip ENCODING UTF8 TEMPLATE template0'],
            user='postgres',
        )


def stop_postgres() -> None:
    data = STATE / 'postgres' / 'data'
    if postgres_running():
        run([POSTGRES_BIN / 'pg_ctl', '-D', data, '-m', 'fast', '-w', 'stop'], user='postgres', check=False)


# --- RabbitMQ -----------------------------------------------------------------------------------------------------


def rabbitmq_env() -> dict[str, str]:
    base = STATE / 'rabbitmq'
    return {
        'HOME': str(base),  # the Erlang cookie lives there
        'RABBITMQ_NODENAME': 'unconmlip@localhost',
        'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
        'RABBITMQ_NODE_PORT': str(PORTS['amqp']),
        'RABBITMQ_DIST_PORT': str(PORTS['rabbit_dist']),
        'ERL_EPMD_ADDRESS': '127.0.0.1',
        'RABBITMQ_MNESIA_BASE': str(base / 'mnesia'),
        'RABBITMQ_LOG_BASE': str(base / 'log'),
        'RABBITMQ_PID_FILE': str(base / 'rabbitmq.pid'),
        'RABBITMQ_ENABLED_PLUGINS_FILE': str(base / 'enabled_plugins'),
        'RABBITMQ_ADVANCED_CONFIG_FILE': str(base / 'advanced.config'),
        'RABBITMQ_CONFIG_FILE': str(base / 'rabbitmq.conf'),
    }


def rabbitmq_running() -> bool:
    return listening(PORTS['amqp'])


def start_rabbitmq() -> None:
    base = STATE / 'rabbitmq'
    (base / 'log').mkdir(parents=True, exist_ok=True)
    (base / 'enabled_plugins').write_text('[].\n')
    # AiiDA's long-running tasks must not be cut by RabbitMQ's consumer timeout; distribution on loopback only
    (base / 'advanced.config').write_text(
        '[{rabbit, [{consumer_timeout, undefined}]}, {kernel, [{inet_dist_use_interface, {127,0,0,1}}]}].\n'
    )
    (base / 'rabbitmq.conf').write_text('loopback_users.guest = true\n')
    if not rabbitmq_running():
        run([RABBITMQ_BIN / 'rabbitmq-server', '-detached'], env=rabbitmq_env())
        run([RABBITMQ_BIN / 'rabbitmqctl', 'wait', '--timeout', '60', base / 'rabbitmq.pid'], env=rabbitmq_env())
    wait_for('RabbitMQ', rabbitmq_running)


def stop_rabbitmq() -> None:
    if rabbitmq_running() or pid_alive(STATE / 'rabbitmq' / 'rabbitmq.pid'):
        run(
            [RABBITMQ_BIN / 'rabbitmqctl', 'stop', STATE / 'rabbitmq' / 'rabbitmq.pid'], env=rabbitmq_env(), check=False
        )
    run(['epmd', '-kill'], env=rabbitmq_env(), check=False)


# --- munge and SLURM ----------------------------------------------------------------------------------------------


def slurm_conf() -> Path:
    return STATE / 'slurm' / 'slurm.conf'


def write_slurm_conf() -> None:
    base = STATE / 'slurm'
    for folder in ('state', 'spool', 'log'):
        (base / folder).mkdir(parents=True, exist_ok=True)
    memory = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**20 - 1024
    slurm_conf().write_text(
        f"""ClusterName=unconmlip
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmctldPort={PORTS['slurmctld']}
SlurmdPort={PORTS['slurmd']}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation={base / 'state'}
SlurmdSpoolDir={base / 'spool'}
SlurmctldPidFile={base / 'slurmctld.pid'}
SlurmdPidFile={base / 'slurmd.pid'}
SlurmctldLogFile={base / 'log' / 'slurmctld.log'}
SlurmdLogFile={base / 'log' / 'slurmd.log'}
NodeName=localhost NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""
    )


def munge_running() -> bool:
    return run(['munge', '-n'], check=False).returncode == 0


def start_munge() -> None:
    Path('/run/munge').mkdir(parents=True, exist_ok=True)
    shutil.chown('/run/munge', 'munge', 'munge')
    if not munge_running():
        run(['/usr/sbin/munged'], user='munge')
    wait_for('munge', munge_running)


def slurm_env() -> dict[str, str]:
    return {'SLURM_CONF': str(slurm_conf())}


def slurm_node_idle() -> bool:
    result = run(['sinfo', '-h', '-N', '-o', '%T'], check=False, env=slurm_env())
    return result.returncode == 0 and result.stdout.strip() in ('idle', 'mixed', 'allocated')


def start_slurm() -> None:
    write_slurm_conf()
    base = STATE / 'slurm'
    if not pid_alive(base / 'slurmctld.pid'):
        run(['slurmctld', '-f', slurm_conf()], env=slurm_env())
    wait_for('slurmctld', lambda: listening(PORTS['slurmctld']))
    if not pid_alive(base / 'slurmd.pid'):
        run(['slurmd', '-f', slurm_conf()], env=slurm_env())
    deadline = time.monotonic() + 60
    while not slurm_node_idle() and time.monotonic() < deadline:
        run(['scontrol', 'update', 'nodename=localhost', 'state=resume'], check=False, env=slurm_env())
        time.sleep(1)
    wait_for('the SLURM node', slurm_node_idle, timeout=5)


def stop_slurm() -> None:
    for daemon in ('slurmd', 'slurmctld'):
        pid = pid_alive(STATE / 'slurm' / f'{daemon}.pid')
        if pid:
            os.kill(pid, signal.SIGTERM)
            wait_for(daemon, lambda pid=pid: not Path(f'/proc/{pid}').exists(), timeout=30)


def stop_munge() -> None:
    pid = pid_alive(Path('/run/munge/munged.pid'))
    if pid:
        os.kill(pid, signal.SIGTERM)
        wait_for('munged', lambda: not Path(f'/proc/{pid}').exists(), timeout=30)


# --- sshd ---------------------------------------------------------------------------------------------------------


def ssh_paths() -> dict[str, Path]:
    base = STATE / 'ssh'
    return {
        'base': base,
        'host_key': base / 'ssh_host_ed25519_key',
        'client_key': base / 'id_ed25519',
        'authorized_keys': base / 'authorized_keys',
        'config': base / 'sshd_config',
        'pid': base / 'sshd.pid',
    }


def start_sshd() -> None:
    paths = ssh_paths()
    paths['base'].mkdir(parents=True, exist_ok=True)
    paths['base'].chmod(0o700)
    for key in ('host_key', 'client_key'):
        if not paths[key].is_file():
            run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', f'unconmlip-{key}', '-f', paths[key]])
    paths['authorized_keys'].write_text(Path(f'{paths["client_key"]}.pub').read_text())
    paths['authorized_keys'].chmod(0o600)
    paths['config'].write_text(
        f"""Port {PORTS['ssh']}
ListenAddress 127.0.0.1
HostKey {paths['host_key']}
PidFile {paths['pid']}
AuthorizedKeysFile {paths['authorized_keys']}
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
SetEnv SLURM_CONF={slurm_conf()}
Subsystem sftp internal-sftp
"""
    )
    Path('/run/sshd').mkdir(parents=True, exist_ok=True)
    if not pid_alive(paths['pid']):
        run(['/usr/sbin/sshd', '-f', paths['config'], '-E', paths['base'] / 'sshd.log'])
    wait_for('sshd', lambda: listening(PORTS['ssh']))


def stop_sshd() -> None:
    pid = pid_alive(ssh_paths()['pid'])
    if pid:
        os.kill(pid, signal.SIGTERM)
        wait_for('sshd', lambda: not listening(PORTS['ssh']), timeout=30)


# --- AiiDA --------------------------------------------------------------------------------------------------------


def verdi(*args, check: bool = True):
    return run([BIN / 'verdi', *args], env=AIIDA_ENV, check=check)


def ensure_profile() -> None:
    if PROFILE not in verdi('profile', 'list').stdout.split():
        verdi(
            'profile',
            'setup',
            'core.psql_dos',
            '-n',
            '--profile-name',
            PROFILE,
            '--no-set-as-default',
            '--email',
            'unconmlip@localhost',
            '--first-name',
            'aiida',
            '--last-name',
            'unconmlip',
            '--institution',
            'aiida-unconmlip',
            '--broker',
            'none',
            '--database-hostname',
            '127.0.0.1',
            '--database-port',
            str(PORTS['postgres']),
            '--database-username',
            'unconmlip',
            '--database-password',
            secret('postgres'),
            '--database-name',
            'unconmlip_cluster',
            '--repository-uri',
            f'file://{STATE / "aiida-repository"}',
        )
    if 'backend: core.rabbitmq' not in verdi('profile', 'show', PROFILE).stdout:
        verdi(
            'profile',
            'configure-broker',
            'core.rabbitmq',
            PROFILE,
            '--force',
            '--broker-protocol',
            'amqp',
            '--broker-host',
            '127.0.0.1',
            '--broker-port',
            str(PORTS['amqp']),
            '--broker-username',
            'guest',
            '--broker-password',
            'guest',
            '--broker-virtual-host',
            '',
        )
        verdi('-p', PROFILE, 'config', 'set', 'warnings.rabbitmq_version', 'False')
    verdi('-p', PROFILE, 'config', 'set', 'runner.poll.interval', '1')  # AiiDA's 60 s is for a busy production daemon


def ensure_computer_and_code() -> None:
    if COMPUTER not in verdi('-p', PROFILE, 'computer', 'list', '-a', '-r').stdout.split():
        (STATE / 'work').mkdir(parents=True, exist_ok=True)
        verdi(
            '-p',
            PROFILE,
            'computer',
            'setup',
            '-n',
            '--label',
            COMPUTER,
            '--hostname',
            '127.0.0.1',
            '--description',
            'one-node SLURM cluster on this machine, reached over SSH (aiida-unconmlip services)',
            '--transport',
            'core.ssh',
            '--scheduler',
            'core.slurm',
            '--work-dir',
            str(STATE / 'work'),
            '--mpiprocs-per-machine',
            str(os.cpu_count()),
            '--mpirun-command',
            'srun',
            '--use-double-quotes',
        )
        verdi(
            '-p',
            PROFILE,
            'computer',
            'configure',
            'core.ssh',
            COMPUTER,
            '-n',
            '--username',
            'root',
            '--port',
            str(PORTS['ssh']),
            '--key-filename',
            str(ssh_paths()['client_key']),
            '--no-look-for-keys',
            '--no-allow-agent',
            '--no-load-system-host-keys',
            '--key-policy',
            'AutoAddPolicy',
            '--safe-interval',
            '0.5',
            '--no-use-login-shell',
            '--timeout',
            '30',
        )
    poll = f"from aiida import load_profile, orm; load_profile('{PROFILE}'); "
    poll += f"orm.load_computer('{COMPUTER}').set_minimum_job_poll_interval(2.0)"  # a poll is an squeue over SSH
    run([BIN / 'python', '-c', poll], env=AIIDA_ENV)
    codes = verdi('-p', PROFILE, 'code', 'list', '-a', '-r', '-P', 'full_label').stdout.split()
    if f'unconmlip-engine@{COMPUTER}' not in codes:
        verdi(
            '-p',
            PROFILE,
            'code',
            'create',
            'core.code.installed',
            '-n',
            '--label',
            'unconmlip-engine',
            '--computer',
            COMPUTER,
            '--filepath-executable',
            str(BIN / 'unconmlip-engine'),
            '--default-calc-job-plugin',
            'unconmlip.evaluate',
        )
    run([BIN / 'aiida-unconmlip', 'setup', '--profile', PROFILE], env=AIIDA_ENV)


def daemon_running() -> bool:
    return verdi('-p', PROFILE, 'daemon', 'status', check=False).returncode == 0


def start_daemon() -> None:
    if not daemon_running():
        verdi('-p', PROFILE, 'daemon', 'start', '2')


def stop_daemon() -> None:
    if (PROJECT / '.aiida' / 'config.json').is_file() and daemon_running():
        verdi('-p', PROFILE, 'daemon', 'stop')


# --- commands -----------------------------------------------------------------------------------------------------


def open_path_to_state() -> None:
    """Let the services' own users (postgres, munge) pass through the folders above ``.services/``: a project cloned
    into a private folder (``mktemp -d``, a home of mode 700) is otherwise out of their reach. Only the right to pass
    through (o+x) is added, never to list or read; each folder changed is named."""
    for folder in [STATE, *STATE.parents]:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod(mode | 0o001)
            print(f"note  {folder}: others may now pass through (o+x), for the services' own users")


def start() -> None:
    ensure_packages()
    STATE.mkdir(exist_ok=True)
    STATE.chmod(0o711)  # PostgreSQL's own user must reach its folder inside
    open_path_to_state()
    start_postgres()
    if not rabbitmq_running():
        # A daemon that ran without its broker stops first and starts again at the end: its workers would reconnect
        # by themselves, but RabbitMQ requeues their tasks meanwhile, so a process could run twice, in the old worker
        # and in the one that takes it again (aiida-core issue 4595). Fresh workers continue each process once.
        stop_daemon()
    start_rabbitmq()
    start_munge()
    start_slurm()
    start_sshd()
    ensure_profile()
    ensure_computer_and_code()
    start_daemon()
    status()


def stop() -> None:
    stop_daemon()
    stop_sshd()
    stop_slurm()
    stop_munge()
    stop_rabbitmq()
    stop_postgres()
    status()


def status() -> None:
    states = {
        f'postgresql (127.0.0.1:{PORTS["postgres"]})': postgres_running(),
        f'rabbitmq (127.0.0.1:{PORTS["amqp"]})': rabbitmq_running(),
        'munge': Path('/run/munge/munged.pid').is_file() and bool(pid_alive(Path('/run/munge/munged.pid'))),
        f'slurmctld (127.0.0.1:{PORTS["slurmctld"]})': bool(pid_alive(STATE / 'slurm' / 'slurmctld.pid')),
        f'slurmd (127.0.0.1:{PORTS["slurmd"]})': bool(pid_alive(STATE / 'slurm' / 'slurmd.pid')),
        f'sshd (127.0.0.1:{PORTS["ssh"]})': bool(pid_alive(ssh_paths()['pid'])),
        f'aiida daemon of {PROFILE}': (PROJECT / '.aiida' / 'config.json').is_file() and daemon_running(),
    }
    for name, up in states.items():
        print(f'{"up  " if up else "down"}  {name}')


if __name__ == '__main__':
    commands = {'start': start, 'stop': stop, 'status': status}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        raise SystemExit(f'usage: {sys.argv[0]} {"|".join(commands)}')
    commands[sys.argv[1]]()
