"""A PostgreSQL server of a test's own, so the test can stop and start it at will."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from api.dev import free_port
from tests.support.services import IN_CI

BIN = Path("/usr/lib/postgresql/15/bin")


class PostgresCluster:
    """initdb, pg_ctl start and stop, run as the `postgres` system user (the tests run as root)."""

    def __init__(self) -> None:
        if os.geteuid() != 0 or not (BIN / "initdb").exists() or not shutil.which("runuser"):
            message = "a private PostgreSQL cluster needs root and PostgreSQL 15's binaries"
            pytest.fail(message) if IN_CI else pytest.skip(message)
        self.directory = Path(tempfile.mkdtemp(prefix="scimgate-pg-"))
        shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        self._as_postgres(
            str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "server.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
