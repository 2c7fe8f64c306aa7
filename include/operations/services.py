"""Restarting Airflow's services after a configuration restore (`restore-config --restart-services`).

Native (embedded) deployments run `airflow scheduler|dag-processor|triggerer|api-server`, whose pid
files (maintenance.restart.pid_files, under AIRFLOW_HOME) say where they are: each process is sent
SIGTERM (Airflow's graceful shutdown), awaited, and started again with its own command line, working
folder and environment (read from /proc before stopping it). A daemon (`--daemon`) writes its new pid
file itself; for any other process the new pid is written. The distributed stack restarts the
compose services (maintenance.restart.compose_services) with `docker compose restart`.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from include.config import PROJECT_ROOT, PipelineConfig

log = logging.getLogger(__name__)


@dataclass
class Restarted:
    service: str
    old_pid: int | None
    new_pid: int | None
    note: str = ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its parent has not collected it


def _process(pid: int) -> tuple[list[str], str, dict[str, str]]:
    proc = Path(f"/proc/{pid}")
    cmd = [a.decode() for a in proc.joinpath("cmdline").read_bytes().split(b"\0") if a]
    env = dict(
        e.decode().split("=", 1) for e in proc.joinpath("environ").read_bytes().split(b"\0") if b"=" in e
    )
    return cmd, os.readlink(proc / "cwd"), env


def restart_pid_file(pid_file: Path, stop_timeout: float) -> Restarted:
    """Stops the process a pid file names and starts it again the same way."""
    name = pid_file.name.removesuffix(".pid")
    if not pid_file.is_file():
        return Restarted(name, None, None, f"no pid file {pid_file} (not running here)")
    pid = int(pid_file.read_text().strip())
    if not _alive(pid):
        return Restarted(name, pid, None, f"pid {pid} in {pid_file} is not running; not started")
    cmd, cwd, env = _process(pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + stop_timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} (pid {pid}) did not stop within {stop_timeout:g}s after SIGTERM")
        time.sleep(0.1)
    daemon = "-D" in cmd or "--daemon" in cmd
    with open(pid_file.with_suffix(".out"), "ab") as out:
        child = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    if daemon:  # the daemon writes its own pid file once it has forked
        child.wait(timeout=stop_timeout)
        return Restarted(name, pid, None, "daemon started again (it writes its own pid file)")
    pid_file.write_text(f"{child.pid}\n")
    return Restarted(name, pid, child.pid)


def restart_services(cfg: PipelineConfig) -> list[Restarted]:
    """Restarts Airflow the way this deployment runs it (see the module docstring)."""
    rules = cfg.maintenance.restart
    if cfg.deployment.mode == "distributed":
        cmd = ["docker", "compose", "restart", *rules.compose_services]
        try:
            out = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
        except FileNotFoundError:
            raise RuntimeError("restart: `docker` is not installed on this machine") from None
        if out.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.strip()[-2000:]}")
        return [Restarted(s, None, None, "docker compose restart") for s in rules.compose_services]
    home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    done = [restart_pid_file(home / p, rules.stop_timeout_seconds) for p in rules.pid_files]
    for r in done:
        log.info("restart %s: %s -> %s %s", r.service, r.old_pid, r.new_pid, r.note)
    return done
