"""Scratch PostgreSQL clusters: initdb, start and stop one in a folder of its own, on its own port.

Used for point-in-time restores (a restored base backup is a cluster of its own) and by the
dr_test DAG and the tests, so nothing ever reconfigures the machine's server. PostgreSQL refuses
to run as root: when we are root, its programs run as the `postgres` user and the folders are
handed to it.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CLUSTER_OWNER = "postgres"  # who runs PostgreSQL when we are root (Debian's convention)


class ClusterError(Exception):
    """A scratch cluster could not be created, started or stopped (message holds its log)."""


def pg_bin(tool: str, major: int | None = None) -> str:
    """The PostgreSQL program `tool` of the given major version (newest when None)."""
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    if major is not None:
        found = [p for p in found if Path(p).parts[-3] == str(major)]
    if found:
        return found[-1]
    on_path = shutil.which(tool)
    if on_path and major is None:
        return on_path
    version = f" {major}" if major else ""
    raise ClusterError(f"no PostgreSQL{version} program {tool} under /usr/lib/postgresql/*/bin or on PATH")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_owner(cmd: list[str]) -> list[str]:
    """`cmd` run as the user that runs PostgreSQL."""
    return ["runuser", "-u", CLUSTER_OWNER, "--", *cmd] if os.geteuid() == 0 else cmd


def hand_over(path: Path) -> None:
    """Gives a folder (recursively) to the user that runs PostgreSQL."""
    if os.geteuid() == 0:
        shutil.chown(path, CLUSTER_OWNER, CLUSTER_OWNER)
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                shutil.chown(os.path.join(root, name), CLUSTER_OWNER, CLUSTER_OWNER)


def run_pg(cmd: list[str], what: str) -> str:
    out = subprocess.run(as_owner(cmd), capture_output=True, text=True)
    if out.returncode:
        raise ClusterError(f"{what}: {(out.stderr or out.stdout).strip()[-2000:]}")
    return out.stdout


@dataclass
class Cluster:
    """One PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port` (socket in data_dir)."""

    data_dir: Path
    port: int
    major: int | None = None
    user: str = CLUSTER_OWNER  # the superuser to connect as

    @property
    def log_file(self) -> Path:
        """Inside the data directory, so PostgreSQL's user needs no other folder."""
        return self.data_dir / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{database}"

    def settings(self) -> dict[str, str]:
        """What every scratch cluster needs whatever its postgresql.conf says."""
        return {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.data_dir}'",
        }

    def configure(self, settings: dict[str, str]) -> None:
        """Appends settings to postgresql.auto.conf (the last value of a name wins)."""
        lines = "".join(f"{k} = {v}\n" for k, v in settings.items())
        with (self.data_dir / "postgresql.auto.conf").open("a") as f:
            f.write(lines)

    def initdb(self, settings: dict[str, str] | None = None, wal_segsize_mb: int = 16) -> Cluster:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        hand_over(self.data_dir)
        run_pg(
            [
                pg_bin("initdb", self.major),
                "-D",
                str(self.data_dir),
                "-U",
                CLUSTER_OWNER,
                "--auth=trust",
                "--no-sync",
                f"--wal-segsize={wal_segsize_mb}",
            ],
            f"initdb {self.data_dir}",
        )
        self.configure({**self.settings(), **(settings or {})})
        return self

    def start(self, timeout: float = 60) -> Cluster:
        try:
            run_pg(
                [pg_bin("pg_ctl", self.major), "-D", str(self.data_dir), "-l", str(self.log_file)]
                + ["-w", "-t", str(int(timeout)), "start"],
                f"start the cluster in {self.data_dir}",
            )
        except ClusterError as exc:
            raise ClusterError(f"{exc} (log: {self.log_tail()})") from None
        return self

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            run_pg(
                [pg_bin("pg_ctl", self.major), "-D", str(self.data_dir), "-m", mode, "-w", "stop"],
                f"stop the cluster in {self.data_dir}",
            )

    def log_tail(self, lines: int = 15) -> str:
        try:
            return " | ".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "no log"

    def wait_until_promoted(self, timeout: float = 300) -> None:
        """Waits for recovery to end (pg_is_in_recovery() false); a server that died names its log."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import OperationalError

        eng = create_engine(self.url(), pool_pre_ping=True)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    with eng.connect() as conn:
                        if not conn.execute(text("SELECT pg_is_in_recovery()")).scalar():
                            return
                except OperationalError:
                    if not self.running():
                        raise ClusterError(f"recovery failed: {self.log_tail()}") from None
                time.sleep(0.2)
            raise ClusterError(f"recovery did not end within {timeout:g} s: {self.log_tail()}")
        finally:
            eng.dispose()

    def remove(self) -> None:
        """Stops the cluster (immediately) and deletes its folder (the log with it)."""
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)
