"""The pipeline's one configuration file, loaded and validated once.

Why pydantic: a typo or a wrong value must stop the run before any work with a message that names
the key and the problem. Secrets are never read from the file: only the *names* of environment
variables and Airflow connections that hold them.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "altium2kicad.yaml"
CONFIG_ENV = "ALTIUM2KICAD_CONFIG"
HOME_ENV = "ALTIUM2KICAD_HOME"
KICAD_CLI_ENV = "ALTIUM2KICAD_KICAD_CLI"

ValidationLevel = Literal["basic", "full", "strict"]


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid (message names key and problem)."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LibraryDatabase(Section):
    url_env: str = "ALTIUM2KICAD_DB_URL"
    conn_id: str | None = "altium2kicad_library_db"
    default_url: str = "sqlite:///var/altium2kicad/library.db"

    @model_validator(mode="after")
    def _no_password_in_file(self) -> LibraryDatabase:
        from sqlalchemy.engine import make_url

        if make_url(self.default_url).password:
            raise ValueError(
                "default_url must not hold a password; put the URL in the env var named by url_env"
            )
        return self


class Deployment(Section):
    mode: Literal["embedded", "distributed"] = "embedded"
    work_dir: str = "var/altium2kicad"
    library_database: LibraryDatabase = LibraryDatabase()
    kicad_cli: str | None = None


class Target(Section):
    kind: Literal["local", "s3"] = "local"
    path: str | None = None
    bucket: str | None = None
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    aws_conn_id: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Target:
        if self.kind == "local" and not self.path:
            raise ValueError("a local target needs 'path'")
        if self.kind == "s3" and not self.bucket:
            raise ValueError("an s3 target needs 'bucket'")
        return self


class Environment(Section):
    validation_level: ValidationLevel
    target: Target


class Workflows(Section):
    default_environment: str = "development"
    test_environment: str = "testing"
    default_sample_size: int = Field(3, ge=1)
    max_parallel_libraries: int = Field(4, ge=1)


class Approvals(Section):
    auto_approve: bool = False
    reviewers: list[str] = []
    response_timeout_hours: float = Field(72, gt=0)


class Notifications(Section):
    slack_conn_id: str | None = None
    notify_on: list[Literal["approval_needed", "failure", "success"]] = ["approval_needed", "failure"]


class Stage(Section):
    name: str
    tasks: list[str]


class ProjectTemplate(Section):
    stages: list[Stage]


class TaskAssignment(Section):
    default_owner: str = "library-team"
    stages: dict[str, str] = {}


class ProgressTracking(Section):
    metrics: list[Literal["components_migrated", "migration_quality", "time_spent"]] = [
        "components_migrated",
        "migration_quality",
        "time_spent",
    ]
    quality_target: float = Field(0.95, ge=0, le=1)
    report_dir: str = "var/altium2kicad/reports"


class Schedule(Section):
    enabled: bool = False
    schedule: str | None = None


class BackupSchedule(Section):
    schedule: str
    keep: int = Field(1, ge=1)


class Backup(Section):
    keep_versions: int = Field(5, ge=1)  # deployed library versions kept beside the live one
    key_env: str = "ALTIUM2KICAD_BACKUP_KEY"  # base64 AES-256 key; never stored with the backups
    key_conn_id: str | None = "altium2kicad_backup_key"  # or this Airflow connection's password
    primary: Target = Target(kind="local", path="var/altium2kicad/backups/primary")
    secondary: Target = Target(kind="local", path="var/altium2kicad/backups/secondary")
    full: BackupSchedule = BackupSchedule(schedule="0 1 * * 0", keep=4)
    incremental: BackupSchedule = BackupSchedule(schedule="0 1 * * *", keep=14)
    verification: BackupSchedule = BackupSchedule(schedule="0 5 * * 1", keep=1)


class BusinessContinuity(Section):
    rto_hours: float = Field(4, gt=0)
    rpo_hours: float = Field(1, gt=0)


class Maintenance(Section):
    retention_days: int = Field(30, ge=1)


class Monitoring(Section):
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    statsd: bool = False


class Caching(Section):
    enabled: bool = True


class PipelineConfig(Section):
    deployment: Deployment = Deployment()
    environments: dict[str, Environment]
    workflows: Workflows = Workflows()
    approvals: Approvals = Approvals()
    notifications: Notifications = Notifications()
    project_templates: dict[str, ProjectTemplate] = {}
    task_assignment: TaskAssignment = TaskAssignment()
    progress_tracking: ProgressTracking = ProgressTracking()
    synchronization: Schedule = Schedule()
    backup: Backup = Backup()
    dr_testing: Schedule = Schedule()
    business_continuity: BusinessContinuity = BusinessContinuity()
    maintenance: Maintenance = Maintenance()
    monitoring: Monitoring = Monitoring()
    caching: Caching = Caching()

    @model_validator(mode="after")
    def _environments_known(self) -> PipelineConfig:
        for key in ("default_environment", "test_environment"):
            name = getattr(self.workflows, key)
            if name not in self.environments:
                raise ValueError(
                    f"workflows.{key} '{name}' is not one of environments: {sorted(self.environments)}"
                )
        return self

    # -- resolved values --------------------------------------------------------------------
    def environment(self, name: str) -> Environment:
        if name not in self.environments:
            raise ConfigError(
                f"environments: no environment '{name}' (known: {', '.join(sorted(self.environments))})"
            )
        return self.environments[name]

    def path(self, value: str) -> Path:
        """A configured path, relative ones against ALTIUM2KICAD_HOME (default: the project)."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else home() / p

    @property
    def work_dir(self) -> Path:
        return self.path(self.deployment.work_dir)

    @property
    def report_dir(self) -> Path:
        return self.path(self.progress_tracking.report_dir)

    def kicad_cli(self) -> Path | None:
        """kicad-cli to ask for a real load of every written library, when configured and present."""
        value = os.environ.get(KICAD_CLI_ENV) or self.deployment.kicad_cli
        if not value:
            return None
        path = self.path(value)
        return path if path.exists() else None

    def library_db_url(self) -> str:
        """Env var first, then the Airflow connection, then the embedded SQLite default."""
        db = self.deployment.library_database
        if url := os.environ.get(db.url_env):
            return url
        if db.conn_id and (url := _airflow_connection_uri(db.conn_id)):
            return url
        return _resolve_sqlite(db.default_url)


def folder_name(text: str) -> str:
    """A run id (or a library stem) as one folder name: the same in the work dir, the report dir
    and the plugin's report URL."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def home() -> Path:
    return Path(os.environ.get(HOME_ENV) or PROJECT_ROOT)


def _resolve_sqlite(url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str(home() / url[len(prefix) :])
    return url


def _airflow_connection_uri(conn_id: str) -> str | None:
    """The connection's URI when Airflow knows it (env AIRFLOW_CONN_* or the metadata DB)."""
    env = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if env:
        return env.replace("postgres://", "postgresql://", 1)
    try:
        from airflow.sdk import BaseHook

        uri = BaseHook.get_connection(conn_id).get_uri()
    except Exception:  # no Airflow, no such connection, or no API: fall back to the default
        return None
    return uri.replace("postgres://", "postgresql://", 1)


def _describe(error: ValidationError, source: Path) -> str:
    lines = [f"{source}: invalid configuration"]
    for e in error.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (typo?)"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def parse_config(text: str, source: Path) -> PipelineConfig:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections")
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> PipelineConfig:
    return parse_config(Path(path).read_text(encoding="utf-8"), Path(path))


def load_config(path: Path | None = None) -> PipelineConfig:
    """The validated configuration (cached per file version, so tasks may call it freely)."""
    path = path or config_path()
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration ({exc.strerror})") from None
    return _load(str(path), mtime)
