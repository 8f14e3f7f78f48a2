"""Real servers for the tests, started on loopback in temp folders and stopped at the end: PostgreSQL, Ray.

PostgreSQL comes from Debian's `postgresql` package (scripts/install-services.sh installs it);
it refuses to run as root, so as root the cluster belongs to the `postgres` system user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run scripts/install-services.sh (Debian: apt-get install postgresql)")
    return found[-1].parent


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Postgres:
    """A throw-away PostgreSQL cluster: `initdb` + `pg_ctl` on a free loopback port."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="playground-pg-"))
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        bin_dir = _pg_bin()
        self.pg_ctl = str(bin_dir / "pg_ctl")
        subprocess.run(
            _as_owner([str(bin_dir / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "playground", "-E", "UTF8"]),
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off"
        subprocess.run(
            _as_owner([self.pg_ctl, "-D", str(self.dir / "data"), "-o", options, "-l", str(self.dir / "log"), "-w", "start"]),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://playground@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on this server; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            _as_owner([self.pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "stop"]), capture_output=True, timeout=60
        )
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout:.0f} s")
