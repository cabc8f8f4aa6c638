"""A PostgreSQL server of the test's own (`initdb` + `pg_ctl` on a free port under a temporary
directory), which a test may stop and start again to play a database outage. The shared test
server (UPWATCH_TEST_DATABASE_URL) is never stopped: other tests use it.

initdb refuses to run as root: as root, the server's commands run as the `postgres` user,
in a directory that user owns.
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import asyncpg

from tests.support.sockets import closed_port
from upwatch.db import migrate

BINARIES = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"
SUPERUSER = "upwatch"
START_SECONDS = 30
_databases = itertools.count()


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin directory with initdb and pg_ctl, if any."""
    found = [Path(p) for p in sorted(glob.glob(BINARIES)) if (Path(p) / "initdb").exists()]
    return found[-1] if found else None


class PrivatePostgres:
    """One cluster; `stop()` and `start()` it at will. Each `migrated()` database is new."""

    def __init__(self, binaries: Path) -> None:
        self._binaries = binaries
        self._root = Path(tempfile.mkdtemp(prefix="upwatch-private-pg-"))
        self._data = self._root / "data"
        self.port = closed_port()  # free now; the server takes it
        self.running = False
        if os.geteuid() == 0:
            shutil.chown(self._root, SERVER_USER, SERVER_USER)
        self._run("initdb", "-D", str(self._data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8")

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._binaries / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=START_SECONDS)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off"
        )
        log = str(self._root / "server.log")
        self._run("pg_ctl", "-D", str(self._data), "-l", log, "-o", options, "-w", "start")
        self.running = True

    def stop(self) -> None:
        """Stop at once: open connections are cut ("terminating connection due to
        administrator command"), new ones are refused."""
        self._run("pg_ctl", "-D", str(self._data), "-m", "fast", "-w", "stop")
        self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def migrated(self) -> str:
        """A new, fully migrated database on this server; its SQLAlchemy URL."""
        name = f"outage_{next(_databases)}"
        asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))
        url = self.url(name)
        migrate.upgrade(url)
        return url

    async def _admin(self, statement: str) -> None:
        dsn = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def close(self) -> None:
        if self.running:
            self.stop()
        shutil.rmtree(self._root, ignore_errors=True)
