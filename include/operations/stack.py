"""The distributed stack's settings rendered from the configuration: nginx and the compose variables.

Why generated: `scaling` and `load_balancer` in config/distributed.yaml are only true if the running
stack obeys them. nginx.conf comes from deploy/nginx/nginx.conf.template; the replica counts, worker
concurrency, log level and StatsD switch go into a marked block of `.env`, which docker-compose reads
for `${...}` in docker-compose.yaml. Lines of `.env` outside the block (the secrets) are left alone.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ..config import PROJECT_ROOT, PipelineConfig, load_config

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "nginx.conf.template"
RENDERED = PROJECT_ROOT / "deploy" / "nginx" / "nginx.conf"
STACK_CONFIG = PROJECT_ROOT / "config" / "distributed.yaml"  # the stack's ALTIUM2KICAD_CONFIG
ENV_BEGIN = "# >>> altium2kicad stack (python -m include.operations.stack render; do not edit) >>>"
ENV_END = "# <<< altium2kicad stack <<<"


@dataclass(frozen=True)
class NginxPaths:
    """Where nginx keeps its pid, logs and buffers (the image's defaults, or a temp dir for `nginx -t`)."""

    pid: str = "/var/run/nginx.pid"
    error_log: str = "/dev/stderr"
    access_log: str = "/dev/stdout"
    temp: str = "/var/cache/nginx"

    @classmethod
    def under(cls, folder: Path) -> NginxPaths:
        return cls(
            str(folder / "nginx.pid"), str(folder / "error.log"), str(folder / "access.log"), str(folder)
        )


def balancing_method(config: PipelineConfig) -> str:
    """nginx's upstream method for the load_balancer settings (one method: nginx allows one)."""
    lb = config.load_balancer
    if lb.session_persistence:
        return "hash $remote_addr consistent;  # session_persistence: a client stays on one replica"
    if lb.algorithm == "least_connections":
        return "least_conn;"
    return "# round_robin: nginx's default method"


def render_nginx(
    config: PipelineConfig,
    api_server: str = "airflow-apiserver:8080",
    listen: str = "8080",
    paths: NginxPaths = NginxPaths(),
) -> str:
    lb = config.load_balancer
    values = {
        "@PID@": paths.pid,
        "@ERROR_LOG@": paths.error_log,
        "@ACCESS_LOG@": paths.access_log,
        "@TEMP@": paths.temp,
        "@METHOD@": balancing_method(config),
        "@API_SERVER@": api_server,
        "@MAX_FAILS@": str(lb.max_fails),
        "@FAIL_TIMEOUT@": str(lb.health_check_interval),
        "@HEALTH_TIMEOUT@": str(lb.health_check_timeout),
        "@LISTEN@": listen,
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for marker, value in values.items():
        text = text.replace(marker, value)
    if "@" in "".join(line.split("#")[0] for line in text.splitlines()):
        raise ValueError(f"{TEMPLATE}: a placeholder was left unfilled")
    return text


def stack_env(config: PipelineConfig) -> dict[str, str]:
    """The docker-compose variables the configuration decides (read in docker-compose.yaml)."""
    return {
        "AIRFLOW_API_REPLICAS": str(config.scaling.api_servers),
        "AIRFLOW_SCHEDULERS": str(config.scaling.schedulers),
        "AIRFLOW_TRIGGERERS": str(config.scaling.triggerers),
        "AIRFLOW_WORKERS": str(config.scaling.workers),
        "AIRFLOW_WORKER_CONCURRENCY": str(config.scaling.worker_concurrency),
        "AIRFLOW_LOGGING_LEVEL": config.monitoring.log_level,
        "ALTIUM2KICAD_STATSD": "true" if config.monitoring.statsd else "false",
        # every healthcheck of docker-compose.yaml (load_balancer: the guide's 10 s / 5 s / 3)
        "HEALTH_INTERVAL": f"{config.load_balancer.health_check_interval}s",
        "HEALTH_TIMEOUT": f"{config.load_balancer.health_check_timeout}s",
        "HEALTH_RETRIES": str(config.load_balancer.max_fails),
    }


def with_env_block(existing: str, values: dict[str, str]) -> str:
    """`.env` text with the generated block replaced (or appended), everything else kept."""
    lines = existing.splitlines()
    if ENV_BEGIN in lines and ENV_END in lines:
        start, end = lines.index(ENV_BEGIN), lines.index(ENV_END)
        lines = lines[:start] + lines[end + 1 :]
    while lines and not lines[-1].strip():
        lines.pop()
    block = [ENV_BEGIN, *(f"{k}={v}" for k, v in values.items()), ENV_END]
    return "\n".join([*lines, *([""] if lines else []), *block]) + "\n"


def render(config: PipelineConfig, env_file: Path, nginx_file: Path = RENDERED) -> None:
    nginx_file.write_text(render_nginx(config), encoding="utf-8")
    old = env_file.read_text(encoding="utf-8") if env_file.exists() else ""
    env_file.write_text(with_env_block(old, stack_env(config)), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.operations.stack")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("render", help="write deploy/nginx/nginx.conf and the stack block of .env")
    cmd.add_argument("--config", type=Path, default=STACK_CONFIG, help="configuration (default: %(default)s)")
    cmd.add_argument("--env-file", type=Path, default=PROJECT_ROOT / ".env")
    cmd.add_argument("--nginx", type=Path, default=RENDERED)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    render(config, args.env_file, args.nginx)
    print(f"wrote {args.nginx} and the stack block of {args.env_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
