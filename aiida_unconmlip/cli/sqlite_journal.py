"""The SQLite database of an embedded profile in write-ahead-log mode, where SQLite allows that mode.

AiiDA commits at every state change of every process: about 150 commits in a run of the main job. In SQLite's default
rollback-journal mode each commit writes and deletes a journal file and syncs twice, which was 0.6 s of a 12.7 s run
on the 2-core development machine. In write-ahead-log (WAL) mode a commit appends to one log file. The mode is stored
in the database file, so it is set once, at setup, and every later connection (CLI, daemon workers, ``verdi``) uses it.

SQLite's WAL needs every process that opens the database on one machine, sharing memory; SQLite's documentation says
it does not work on a network filesystem. A database on NFS, Lustre, GPFS and the like keeps the rollback journal.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

# Filesystem types (the third field of /proc/mounts) on which the processes opening a file may be on other machines.
NETWORK_FILESYSTEMS = frozenset(
    {
        '9p',
        'afs',
        'beegfs',
        'ceph',
        'cifs',
        'fuse.ceph',
        'fuse.glusterfs',
        'fuse.sshfs',
        'gpfs',
        'lustre',
        'nfs',
        'nfs4',
        'panfs',
        'smb3',
        'smbfs',
    }
)
MOUNTS = Path('/proc/mounts')


def filesystem_type(path: Path, mounts: str) -> str | None:
    """The type of the filesystem ``path`` is on, from the text of ``/proc/mounts`` (None if no mount holds it)."""
    path = path.resolve()
    best: tuple[int, str] | None = None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = Path(fields[1].replace('\\040', ' '))
        if (path == mount_point or mount_point in path.parents) and (best is None or len(mount_point.parts) > best[0]):
            best = (len(mount_point.parts), fields[2])
    return None if best is None else best[1]


def wal_allowed(database: Path) -> bool:
    """Whether the database's filesystem is local (unknown counts as network: the rollback journal is always safe)."""
    try:
        mounts = MOUNTS.read_text()
    except OSError:
        return False
    kind = filesystem_type(database, mounts)
    return kind is not None and kind not in NETWORK_FILESYSTEMS


def ensure_write_ahead_log(database: Path) -> str:
    """Put ``database`` in WAL mode where its filesystem allows it; return the journal mode it has now.

    Changing the mode needs the database to itself for a moment: with a daemon writing, the mode stays as it was and
    the next ``setup`` tries again.
    """
    connection = sqlite3.connect(database, timeout=5)
    try:
        mode = connection.execute('PRAGMA journal_mode').fetchone()[0]
        if mode != 'wal' and wal_allowed(database):
            with contextlib.suppress(sqlite3.OperationalError):  # locked by a writer: kept as it is
                mode = connection.execute('PRAGMA journal_mode=WAL').fetchone()[0]
        return mode
    finally:
        connection.close()
