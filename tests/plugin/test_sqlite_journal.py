"""An embedded profile's SQLite database is put in write-ahead-log mode on local disks only."""

import sqlite3
from pathlib import Path

from aiida_unconmlip.cli import sqlite_journal
from aiida_unconmlip.cli.sqlite_journal import ensure_write_ahead_log, filesystem_type

MOUNTS = """\
overlay / overlay rw,relatime 0 0
tmpfs /tmp tmpfs rw,nosuid 0 0
server:/export/home /home nfs4 rw,relatime 0 0
/dev/sda1 /home/local\\040disk ext4 rw 0 0
"""


def test_the_filesystem_of_a_path_is_that_of_its_deepest_mount():
    assert filesystem_type(Path('/home/alice/.aiida/db.sqlite'), MOUNTS) == 'nfs4'
    assert filesystem_type(Path('/home/local disk/db.sqlite'), MOUNTS) == 'ext4'
    assert filesystem_type(Path('/tmp/x'), MOUNTS) == 'tmpfs'
    assert filesystem_type(Path('/opt/x'), MOUNTS) == 'overlay'
    assert filesystem_type(Path('/opt/x'), '') is None


def new_database(folder: Path) -> Path:
    database = folder / 'database.sqlite'
    with sqlite3.connect(database) as connection:
        connection.execute('CREATE TABLE node (id INTEGER PRIMARY KEY)')
    return database


def test_a_local_database_gets_the_write_ahead_log_and_keeps_its_rows(tmp_path, monkeypatch):
    database = new_database(tmp_path)
    monkeypatch.setattr(sqlite_journal, 'MOUNTS', tmp_path / 'mounts')
    (tmp_path / 'mounts').write_text(f'/dev/sda1 {tmp_path} ext4 rw 0 0\n')
    with sqlite3.connect(database) as connection:
        connection.execute('INSERT INTO node VALUES (1)')
    assert ensure_write_ahead_log(database) == 'wal'
    assert ensure_write_ahead_log(database) == 'wal'
    with sqlite3.connect(database) as connection:
        assert connection.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'
        assert connection.execute('SELECT id FROM node').fetchall() == [(1,)]


def test_a_database_on_a_network_filesystem_keeps_the_rollback_journal(tmp_path, monkeypatch):
    database = new_database(tmp_path)
    monkeypatch.setattr(sqlite_journal, 'MOUNTS', tmp_path / 'mounts')
    (tmp_path / 'mounts').write_text(f'server:/export {tmp_path} nfs4 rw 0 0\n')
    assert ensure_write_ahead_log(database) == 'delete'
    (tmp_path / 'mounts').unlink()  # no mount table: not known to be local
    assert ensure_write_ahead_log(database) == 'delete'
