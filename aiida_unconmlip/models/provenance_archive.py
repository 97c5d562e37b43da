"""Import the provenance of a shipped archive without the machine it was made on.

An AiiDA archive carries the computer its calculations ran on and the codes they ran. Imported as they are, they
show up in ``verdi computer list`` and ``verdi code list`` as ``localhost (Imported #0)`` and ``pw.x@localhost
(Imported #0)``: another machine's computer and codes, one pointing at a path that does not exist here. So a copy of
the archive is rewritten before import: nodes lose their computer, and each code becomes a ``Dict`` record of what
ran (label, description, executable, input plugin and the computer's label, hostname, scheduler and transport),
linked to the calculations where the code was. Every calculation, input and output stays in the graph.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import zipfile
from pathlib import Path

ARCHIVE_DATABASE = 'db.sqlite3'
CODE_NODE_TYPE = 'data.core.code.%'
RECORD_NODE_TYPE = 'data.core.dict.Dict.'


def _computers(database: sqlite3.Connection) -> dict[int, dict[str, str]]:
    rows = database.execute('SELECT id, label, hostname, scheduler_type, transport_type FROM db_dbcomputer')
    return {
        pk: {'label': label, 'hostname': hostname, 'scheduler_type': scheduler, 'transport_type': transport}
        for pk, label, hostname, scheduler, transport in rows
    }


def detach_machine(database_path: Path) -> None:
    """Rewrite an archive's database: codes become records of what ran, nothing keeps a computer."""
    database = sqlite3.connect(database_path)
    with database:
        computers = _computers(database)
        codes = database.execute(
            'SELECT id, attributes, dbcomputer_id FROM db_dbnode WHERE node_type LIKE ?', (CODE_NODE_TYPE,)
        ).fetchall()
        for pk, attributes, computer in codes:
            record = {**json.loads(attributes), 'computer': computers.get(computer)}
            database.execute(
                "UPDATE db_dbnode SET node_type = ?, attributes = ?, extras = '{}' WHERE id = ?",
                (RECORD_NODE_TYPE, json.dumps(record), pk),
            )
        database.execute('UPDATE db_dbnode SET dbcomputer_id = NULL')
        database.execute('DELETE FROM db_dbauthinfo')
        database.execute('DELETE FROM db_dbcomputer')
    database.close()


def import_provenance(archive: Path) -> None:
    """Import ``archive`` with :func:`detach_machine` applied to a copy (the shipped file is left as it is)."""
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / ARCHIVE_DATABASE
        rewritten = Path(folder) / archive.name
        with zipfile.ZipFile(archive) as source:
            with source.open(ARCHIVE_DATABASE) as packed, database.open('wb') as unpacked:
                shutil.copyfileobj(packed, unpacked)
            detach_machine(database)
            with zipfile.ZipFile(rewritten, 'w', compression=zipfile.ZIP_DEFLATED) as target:
                for item in source.infolist():
                    if item.filename == ARCHIVE_DATABASE:
                        target.write(database, ARCHIVE_DATABASE)
                    else:
                        with source.open(item) as packed, target.open(item, 'w') as copy:
                            shutil.copyfileobj(packed, copy)
        from aiida.tools.archive import import_archive  # 0.13 s of imports, for setup alone

        import_archive(rewritten)
