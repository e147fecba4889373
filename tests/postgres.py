"""A throwaway Postgres server for the tests: ``initdb`` + ``pg_ctl`` in a temporary directory, on a
free port of 127.0.0.1, with a password (so the tests see a URL that holds one), stopped at the end.

The binaries come from ``pg_config --bindir`` or ``/usr/lib/postgresql/*/bin``. Without them the
tests that need the server are skipped, except in CI (``CI`` set), where ``.ci/run`` installs them
and their absence is a failure. As root, the server runs as the ``postgres`` user (or ``nobody``):
``initdb`` refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

USER = "retention"
PASSWORD = "pg-secret-" + uuid.uuid4().hex[:8]  # a test asserts it never reaches a log


def bindir() -> Path | None:
    candidates = []
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _runner() -> list[str]:
    """The command prefix that runs the server as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"]
    raise RuntimeError("running as root with neither a postgres nor a nobody user to run the server")


class PostgresServer:
    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="retention-pg-"))  # under /tmp: reachable by the server's user
        self.data = self.root / "data"
        self.port = _free_port()
        self.run_as = _runner()

    def start(self) -> PostgresServer:
        pwfile = self.root / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self.run_as:
            owner = pwd.getpwnam(self.run_as[2])
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", USER, "--pwfile", str(pwfile), "-E", "UTF8",
                  "--locale=C", "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh empty database: the URL of one test's own ledger or instance."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def _run(self, tool: str, *args: str, check: bool = True) -> None:
        done = subprocess.run([*self.run_as, str(self.bin / tool), *args], capture_output=True, text=True,
                              check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


@pytest.fixture(scope="session")
def postgres_server():
    """One server for the test session (each test takes a database of its own: ``postgres_url``)."""
    bin_dir = bindir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the Postgres tests: no initdb/pg_ctl found (.ci/run installs postgresql)")
        pytest.skip("no Postgres server binaries (initdb, pg_ctl): install postgresql to run the Postgres tests")
    server = PostgresServer(bin_dir).start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    return postgres_server.new_database()
