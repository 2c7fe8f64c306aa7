"""Throw-away PostgreSQL clusters for fault tests: a primary, a streaming standby, on spare ports.

Built with the server's own tools (initdb, pg_basebackup -R, pg_ctl) in a temporary folder, so a
test can stop and promote nodes without touching the machine's server. Run as the `postgres` user
when the tests run as root (initdb refuses root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120, **kwargs)


@dataclass
class Node:
    data: Path
    port: int
    bin: Path

    def start(self) -> None:
        _as_postgres(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "log"), "-w", "start"]
        )

    def stop(self, mode: str = "fast") -> None:
        _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def promote(self) -> None:
        _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "promote"])

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"


def scratch_root() -> Path:
    """A folder the `postgres` user can reach (pytest's tmp_path is private to root)."""
    import tempfile

    return _owned_dir(Path(tempfile.mkdtemp(prefix="a2k-pg-")))


def _owned_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(path, pg.pw_uid, pg.pw_gid)
    return path


def primary(root: Path, settings: dict[str, str] | None = None) -> Node:
    """A new primary with replication allowed from loopback (trust: loopback only, a test's)."""
    bindir = pg_bin()
    assert bindir, "no PostgreSQL server binaries"
    _owned_dir(root)
    data = root / "primary"
    _as_postgres(
        [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
    )
    node = Node(data, free_port(), bindir)
    conf = {
        "port": str(node.port),
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": f"'{data}'",
        "wal_level": "replica",
        "max_wal_senders": "5",
        "hot_standby": "on",
        "fsync": "off",  # a test cluster: speed over durability across power loss
        **(settings or {}),
    }
    with (data / "postgresql.conf").open("a") as f:
        f.writelines(f"{k} = {v}\n" for k, v in conf.items())
    node.start()
    return node


def standby(root: Path, of: Node) -> Node:
    """A streaming standby of `of` (pg_basebackup -R writes standby.signal and primary_conninfo)."""
    data = _owned_dir(root / f"standby{free_port()}")
    shutil.rmtree(data)
    _as_postgres(
        [str(of.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(of.port), "-U", "postgres",
         "-D", str(data), "-R", "-X", "stream", "-c", "fast", "--no-sync"]
    )  # fmt: skip
    node = Node(data, free_port(), of.bin)
    with (data / "postgresql.conf").open("a") as f:
        f.write(f"port = {node.port}\nunix_socket_directories = '{data}'\n")
    node.start()
    return node


def multi_host_url(nodes: list[Node], database: str) -> str:
    """libpq's multi-host form: a new connection reaches whichever node accepts writes now."""
    hosts = "&".join(f"host=127.0.0.1:{n.port}" for n in nodes)
    return f"postgresql+psycopg2://postgres@/{database}?{hosts}&target_session_attrs=read-write"
