"""The pipeline's one configuration file, loaded and validated once.

Why pydantic: a typo or a wrong value must stop the run before any work with a message that names
the key and the problem. Secrets are never read from the file: only the *names* of environment
variables and Airflow connections that hold them.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import Field, ValidationError, model_validator

from include.access.settings import Role, UserManagement
from include.catalogue.settings import KnowledgeSharing
from include.config_base import Section, Target
from include.notifications.settings import APPROVERS, PARTICIPANTS, Notifications
from include.sync.settings import Site, Synchronization

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "altium2kicad.yaml"
CONFIG_ENV = "ALTIUM2KICAD_CONFIG"
HOME_ENV = "ALTIUM2KICAD_HOME"
KICAD_CLI_ENV = "ALTIUM2KICAD_KICAD_CLI"
log = logging.getLogger(__name__)

ValidationLevel = Literal["basic", "full", "strict"]


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid (message names key and problem)."""


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
    # migration runs at once across the migration DAGs (full_library_migration's max_active_runs,
    # read from this file by the DAG file; include.workflow.concurrency documents why)
    max_concurrent_migrations: int = Field(10, gt=0)


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class GitHistory(Section):
    """Where the versions promoted to an environment are committed (include/workflow/history.py)."""

    remote: str  # any git URL or path git can push to (a local bare repository in tests)
    branch: str = "main"


class Environment(Section):
    validation_level: ValidationLevel
    target: Target
    log_level: LogLevel = "INFO"  # our loggers in every task of a run for this environment
    parts_conn_id: str | None = None  # the run's parts database connection unless the run names one
    git: GitHistory | None = None  # promotions to this environment are committed here
    # a second store: a version is live only when both hold it; readers fall back to it (HA)
    secondary_target: Target | None = None


class StageSpec(Section):
    approvers: list[str] = []  # roles (task_assignment.roles) whose users answer this stage's approval


class ComponentMigration(Section):
    """The guide's stages of a component migration; each stage's approval goes to its approvers."""

    stages: dict[Literal["planning", "execution", "validation", "deployment"], StageSpec] = {}


class Workflows(Section):
    default_environment: str = "development"
    test_environment: str = "testing"
    default_sample_size: int = Field(3, ge=1)
    max_parallel_libraries: int = Field(4, ge=1)
    # minutes each task may run (by task name; `default` for the rest), applied when a task starts
    execution_timeout_minutes: dict[str, float] = {"default": 60, "run_full_migration": 240}
    component_migration: ComponentMigration = ComponentMigration()

    @model_validator(mode="after")
    def _timeouts(self) -> Workflows:
        limits = self.execution_timeout_minutes
        if "default" not in limits:
            raise ValueError("execution_timeout_minutes needs a 'default' entry")
        bad = [f"{k}: {v}" for k, v in limits.items() if v <= 0]
        if bad:
            raise ValueError(f"execution_timeout_minutes must be positive ({', '.join(bad)})")
        return self


class ApprovalLevel(Section):
    """One level of approval: how many distinct users, from which roles, and the automatic answer."""

    required_approvers: int = Field(1, ge=1)
    roles: list[str] = []
    auto_approve_after: float | None = Field(None, gt=0)  # hours; None: wait response_timeout_hours


class Approvals(Section):
    auto_approve: bool = False
    reviewers: list[str] = []
    response_timeout_hours: float = Field(72, gt=0)
    levels: dict[str, ApprovalLevel] = {}


class Stage(Section):
    name: str
    tasks: list[str]


class ProjectTemplate(Section):
    stages: list[Stage]


class TaskAssignment(Section):
    default_owner: str = "library-team"
    stages: dict[str, str] = {}
    # role -> login names, beside the directory's members (include.workflow.roles.users_for_role)
    roles: dict[str, list[str]] = {}
    # role -> task ids (dag_id.task_id) whose approvals that role may answer
    assignment_rules: dict[str, list[str]] = {}


class PromotionWorkflow(Section):
    source: str
    target: str
    approval_level: str
    scheduled_window: str | None = None  # e.g. "Sat 01:00-05:00", in `timezone`
    timezone: str = "UTC"


class ProgressTracking(Section):
    metrics: list[Literal["components_migrated", "migration_quality", "time_spent"]] = [
        "components_migrated",
        "migration_quality",
        "time_spent",
    ]
    quality_target: float = Field(0.95, ge=0, le=1)
    report_dir: str = "var/altium2kicad/reports"
    # report recipients: e-mail addresses or user ids of notifications.channels.email.addresses
    management_team: list[str] = []  # weekly_progress PDF
    project_team: list[str] = []  # daily_status e-mail


class Dashboards(Section):
    """How often the plugin's dashboard pages reload themselves (their meta refresh), in seconds."""

    management_refresh_seconds: int = Field(3600, ge=5)  # management_dashboard: hourly is enough
    team_refresh_seconds: int = Field(300, ge=5)  # team_dashboard: the team watches runs as they go


class Schedule(Section):
    schedule: str


class BackupSchedule(Schedule):
    keep: int = Field(1, ge=1)  # sets of this kind retention keeps


class TransactionLogs(BackupSchedule):
    # folder the PostgreSQL server's archive_command copies finished WAL files into; each hourly
    # run seals and ships them (null: archive_command calls `altium2kicad-admin archive-wal`)
    spool: str | None = None


class Backup(Section):
    keep_versions: int = Field(5, ge=1)  # deployed library versions kept beside the live one
    key_env: str = "ALTIUM2KICAD_BACKUP_KEY"  # base64 AES-256 key; never stored with the backups
    key_conn_id: str | None = "altium2kicad_backup_key"  # or this Airflow connection's password
    primary: Target = Target(kind="local", path="var/altium2kicad/backups/primary")
    secondary: Target = Target(kind="local", path="var/altium2kicad/backups/secondary")
    full: BackupSchedule = BackupSchedule(schedule="0 1 * * 0", keep=4)
    incremental: BackupSchedule = BackupSchedule(schedule="0 1 * * *", keep=14)
    verification: Schedule = Schedule(schedule="0 5 * * 1")
    # hourly; keep = batches kept, i.e. the point-in-time window in hours (include/operations/wal.py)
    transaction_logs: TransactionLogs = TransactionLogs(schedule="0 * * * *", keep=24)


class BusinessContinuity(Section):
    """The objectives the dr_test DAG measures against (include/operations/dr_test.py)."""

    rto_hours: float = Field(4, gt=0)  # recovery time objective: longest acceptable restore
    rpo_hours: float = Field(1, gt=0)  # recovery point objective: most changes (in time) a restore may lose


class Thresholds(Section):
    cpu: float = Field(90, gt=0, le=100)  # percent of all cores, over a one-second sample
    memory: float = Field(90, gt=0, le=100)  # percent of RAM in use
    response_time: float = Field(2.0, gt=0)  # seconds for the api-server's health endpoint


class Alerting(Section):
    enabled: bool = True  # false: the monitoring DAG skips its check
    health_url: str | None = (
        None  # default: the execution API server host (else the base URL) + /api/v2/monitor/health
    )
    thresholds: Thresholds = Thresholds()


class Monitoring(Section):
    log_level: LogLevel = "INFO"
    statsd: bool = False  # our metrics (items, quality, durations) through Airflow's StatsD client
    alerting: Alerting = Alerting()


class ApplicationUpdates(Section):
    airflow_api_conn_id: str = "altium2kicad_airflow_api"  # http connection: api-server URL, login, password
    drain_timeout_minutes: float = Field(60, gt=0)  # paused: wait this long for running DAG runs to end


class Housekeeping(Section):
    metadata_conn_id: str = (
        "altium2kicad_metadata_db"  # Airflow's metadata DB (tasks have no access of their own)
    )
    metadata_retention_days: float = Field(90, gt=0)  # `airflow db clean` older than this
    run_retention_days: float = Field(30, gt=0)  # run folders under work_dir/runs
    report_retention_days: float = Field(180, gt=0)  # report folders under report_dir
    gx_retention_days: float = Field(14, gt=0)  # GX projects (data_docs/gx) inside report folders


class Restart(Section):
    """How `--restart-services` restarts Airflow: pid files (native) or compose services (distributed)."""

    pid_files: list[str] = [
        "airflow-scheduler.pid",
        "airflow-dag-processor.pid",
        "airflow-triggerer.pid",
        "airflow-api_server.pid",
    ]  # relative to AIRFLOW_HOME (what `airflow <service> --daemon` writes)
    compose_services: list[str] = [
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
        "airflow-apiserver",
    ]
    stop_timeout_seconds: float = Field(60, gt=0)


class MaintenanceWindow(Section):
    """A weekly window (`window: Sun 02:00-04:00`) or a one-off one (`start` + `hours`)."""

    name: str
    window: str | None = None
    start: datetime | None = None
    hours: float = Field(2, gt=0)
    timezone: str = "UTC"
    description: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> MaintenanceWindow:
        if (self.window is None) == (self.start is None):
            raise ValueError(f"window {self.name}: give either 'window' (weekly) or 'start' (one-off)")
        if self.window:
            from include.workflow.window import Window

            Window.parse(self.window, self.timezone)
        return self


class MaintenanceNotification(Section):
    lead_hours: list[float] = [72, 24]  # announce each window this many hours before it opens


class Maintenance(Section):
    application_updates: ApplicationUpdates = ApplicationUpdates()
    housekeeping: Housekeeping = Housekeeping()
    restart: Restart = Restart()
    windows: list[MaintenanceWindow] = []
    notification: MaintenanceNotification = MaintenanceNotification()


class Scaling(Section):
    api_servers: int = Field(2, ge=1)  # api-server replicas behind the load balancer
    schedulers: int = Field(2, ge=1)  # scheduler replicas (Airflow's HA schedulers share the work)
    triggerers: int = Field(2, ge=1)  # triggerer replicas (a dead one's triggers move to the other)
    workers: int = Field(2, ge=1)  # Celery worker replicas
    worker_concurrency: int = Field(4, ge=1)  # task slots per worker


class LoadBalancer(Section):
    algorithm: Literal["least_connections", "round_robin"] = "least_connections"
    health_check_interval: int = Field(
        10, ge=1
    )  # s between health checks; a failed api-server is left out as long
    health_check_timeout: int = Field(5, ge=1)  # s a health check (or an upstream connect) may take
    max_fails: int = Field(3, ge=1)  # failures in a row before a replica is unhealthy (compose retries too)
    session_persistence: bool = False  # same client, same api-server (nginx hash on the address)

    @model_validator(mode="after")
    def _one_method(self) -> LoadBalancer:
        if self.session_persistence and self.algorithm == "least_connections":
            raise ValueError(
                "session_persistence pins a client to one api-server, so it cannot balance by "
                "least_connections as well (nginx allows one method): set algorithm: round_robin"
            )
        return self


class Caching(Section):
    enabled: bool = True  # the conversion tasks reuse unchanged libraries' output (same bytes)
    folder: str = "var/altium2kicad/cache"  # the conversion cache; outlives run folders, safe to delete


class PartsSource(Section):
    """One DbLib parts database: matched by ODBC data source, database name or DbLib file name."""

    data_source: str | None = None  # ODBC DSN / `Data Source` of the DbLib's connection string
    database: str | None = None  # `Initial Catalog` / `Database`
    dblib: str | None = None  # the DbLib's file name
    conn_id: str  # the Airflow connection holding the database (and its credentials)

    @model_validator(mode="after")
    def _one_match(self) -> PartsSource:
        given = [k for k in ("data_source", "database", "dblib") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("each parts source names exactly one of data_source, database, dblib")
        return self


class HttpLibrary(Section):
    """KiCad's HTTP library (`.kicad_httplib`) over each environment's deployed parts database."""

    enabled: bool = True  # false: the plugin serves no parts and deployments write no .kicad_httplib
    base_url: str = "http://localhost:8080"  # the api-server as designers reach it
    # Airflow connection whose password is the environment's token ({environment} is replaced)
    token_conn_id: str = "altium2kicad_httplib_{environment}"
    token_in_file: bool = False  # true: the deployed .kicad_httplib holds the token; false: a placeholder
    timeout_parts_seconds: int = Field(30, ge=0)  # how long KiCad caches a part
    timeout_categories_seconds: int = Field(600, ge=0)  # how long KiCad caches a category's part list

    def conn_id(self, environment: str) -> str:
        return self.token_conn_id.replace("{environment}", environment)


class Locking(Section):
    type: Literal["optimistic", "pessimistic"] = "optimistic"  # pessimistic: a write needs the lock
    timeout: float = Field(300, gt=0)  # seconds an explicit lock lasts
    auto_release: bool = True  # a lapsed lock frees itself; false: it holds until released or forced


class ConflictResolution(Section):
    strategy: Literal["reject", "last_write_wins"] = "reject"  # a write based on a stale version
    merge_support: bool = True  # a stale write touching only fields nobody else changed is merged


class Concurrency(Section):
    locking: Locking = Locking()
    conflict_resolution: ConflictResolution = ConflictResolution()
    transaction_isolation: Literal["read_committed", "repeatable_read", "serializable"] = "read_committed"
    notify_on_change: bool = False  # every part edit also sent as notifications event part_edited


class ConnectionPool(Section):
    pool_size: int = Field(5, ge=1)  # connections each engine keeps open
    max_overflow: int = Field(10, ge=0)  # extra connections under load, closed when returned
    pool_timeout: float = Field(30, gt=0)  # seconds to wait for a free connection
    pool_recycle: int = Field(1800, ge=-1)  # seconds before a connection is replaced (-1: never)


class Sharding(Section):
    enabled: bool = False
    shard_key: Literal["component_category"] = "component_category"
    number_of_shards: int = Field(4, ge=1)
    method: Literal["list", "hash"] = "list"  # list: whole categories per partition; hash: spread


class DatabaseScaling(Section):
    connection_pool: ConnectionPool = ConnectionPool()
    # Airflow connections of read-only replicas (host, port, login, password; schema overrides the
    # database name): read-only queries (HTTP library, reports) use the first that answers
    read_replicas: list[str] = []
    sharding: Sharding = Sharding()


class Database(Section):
    scaling: DatabaseScaling = DatabaseScaling()


class CircuitBreakerSettings(Section):
    failure_threshold: int = Field(5, ge=1)  # failures in a row that open it
    reset_timeout: float = Field(30, gt=0)  # seconds open (no connection attempts) before one probe


class ConnectionFailover(Section):
    retry_interval: float = Field(5, gt=0)  # seconds between attempts of an idempotent operation
    max_retries: int = Field(10, ge=0)
    circuit_breaker: CircuitBreakerSettings = CircuitBreakerSettings()


class DatabaseAvailability(Section):
    connection_failover: ConnectionFailover = ConnectionFailover()
    failover_timeout: float = Field(60, gt=0)  # an operation gives up after this long in all


class HighAvailability(Section):
    database: DatabaseAvailability = DatabaseAvailability()


class PipelineConfig(Section):
    deployment: Deployment = Deployment()
    parts_sources: list[PartsSource] = []
    environments: dict[str, Environment]
    workflows: Workflows = Workflows()
    approvals: Approvals = Approvals()
    notifications: Notifications = Notifications()
    project_templates: dict[str, ProjectTemplate] = {}
    task_assignment: TaskAssignment = TaskAssignment()
    progress_tracking: ProgressTracking = ProgressTracking()
    dashboards: Dashboards = Dashboards()
    backup: Backup = Backup()
    business_continuity: BusinessContinuity = BusinessContinuity()
    monitoring: Monitoring = Monitoring()
    high_availability: HighAvailability = HighAvailability()
    maintenance: Maintenance = Maintenance()
    scaling: Scaling = Scaling()
    load_balancer: LoadBalancer = LoadBalancer()
    caching: Caching = Caching()
    user_management: UserManagement = UserManagement()
    promotion: dict[str, PromotionWorkflow] = {}
    http_library: HttpLibrary = HttpLibrary()
    concurrency: Concurrency = Concurrency()
    database: Database = Database()
    sites: dict[str, Site] = {}
    synchronization: Synchronization | None = None  # None: a single site, nothing to sync
    knowledge_sharing: KnowledgeSharing = KnowledgeSharing()

    @model_validator(mode="after")
    def _timeouts_name_tasks(self) -> PipelineConfig:
        known = {t for tpl in self.project_templates.values() for s in tpl.stages for t in s.tasks}
        unknown = sorted(set(self.workflows.execution_timeout_minutes) - known - {"default"})
        if known and unknown:
            raise ValueError(
                f"workflows.execution_timeout_minutes: no task named {', '.join(unknown)} "
                f"(tasks: {', '.join(sorted(known))})"
            )
        return self

    @model_validator(mode="after")
    def _environments_known(self) -> PipelineConfig:
        for name, flow in self.promotion.items():
            for key in ("source", "target"):
                if getattr(flow, key) not in self.environments:
                    raise ValueError(f"promotion.{name}.{key} '{getattr(flow, key)}' is not an environment")
            if flow.approval_level not in self.approvals.levels:
                raise ValueError(
                    f"promotion.{name}.approval_level '{flow.approval_level}' is not in approvals.levels"
                )
        for key in ("default_environment", "test_environment"):
            name = getattr(self.workflows, key)
            if name not in self.environments:
                raise ValueError(
                    f"workflows.{key} '{name}' is not one of environments: {sorted(self.environments)}"
                )
        return self

    @model_validator(mode="after")
    def _report_recipients_known(self) -> PipelineConfig:
        """A report recipient that names nobody would silently never get the report."""
        book = self.notifications.channels.email.addresses
        for key in ("management_team", "project_team"):
            unknown = [n for n in getattr(self.progress_tracking, key) if "@" not in n and n not in book]
            if unknown:
                raise ValueError(
                    f"progress_tracking.{key}: {', '.join(unknown)} is neither an e-mail address nor a "
                    f"user of notifications.channels.email.addresses (known: {sorted(book)})"
                )
        return self

    @model_validator(mode="after")
    def _sites_known(self) -> PipelineConfig:
        sync = self.synchronization
        if sync is None:
            return self
        names = [sync.master_site, *sync.slave_sites]
        missing = [n for n in names if n not in self.sites]
        if missing:
            raise ValueError(f"synchronization names sites {', '.join(missing)} that sites does not define")
        if sync.master_site in sync.slave_sites:
            raise ValueError(f"synchronization: {sync.master_site} is the master and a slave")
        primaries = sorted(n for n, site in self.sites.items() if site.primary)
        if primaries != [sync.master_site]:
            raise ValueError(
                f"sites: exactly the master site ({sync.master_site}) is primary: true (found: {primaries})"
            )
        if sync.environment not in self.environments:
            raise ValueError(f"synchronization.environment '{sync.environment}' is not an environment")
        for name in sync.slave_sites:
            site = self.sites[name]
            if "component_libraries" in sync.sync_items and site.store is None:
                raise ValueError(f"sites.{name}.store: component_libraries travel to a store at the site")
            if not (site.database.conn_id or site.database.url):
                raise ValueError(f"sites.{name}.database: give conn_id (or a SQLite url)")
        return self

    @model_validator(mode="after")
    def _recipients_known(self) -> PipelineConfig:
        roles = set(get_args(Role)) | set(self.task_assignment.roles)
        for event, route in self.notifications.events.items():
            for who in route.recipients:
                if "@" not in who and who not in roles | {APPROVERS, PARTICIPANTS}:
                    raise ValueError(
                        f"notifications.events.{event}.recipients: '{who}' is neither an address, "
                        f"'{APPROVERS}', '{PARTICIPANTS}' nor a role ({', '.join(sorted(roles))})"
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

    def conversion_cache(self) -> Path | None:
        """The conversion cache folder the pipeline's conversion tasks share, or None when off."""
        return self.path(self.caching.folder) if self.caching.enabled else None

    def kicad_cli(self) -> Path | None:
        """kicad-cli to ask for a real load of every written library, when configured and present:
        env ALTIUM2KICAD_KICAD_CLI, then deployment.kicad_cli (the sources tried are logged)."""
        from .connections import SettingNotFound, Source, resolve_setting

        sources = [
            Source(f"env {KICAD_CLI_ENV}", lambda: os.environ.get(KICAD_CLI_ENV)),
            Source("configuration deployment.kicad_cli", lambda: self.deployment.kicad_cli),
        ]
        try:
            value, _source = resolve_setting("deployment.kicad_cli", sources)
        except SettingNotFound as exc:
            log.info("%s: the KiCad load checks are skipped", exc)
            return None
        path = self.path(value)
        return path if path.exists() else None

    def backup_target(self, name: Literal["primary", "secondary"]) -> Target:
        """backup.primary or backup.secondary as the file sets it; the embedded default (a local
        folder) only in the embedded mode, since distributed workers would each fill their own."""
        from .connections import SettingNotFound, Source, resolve_setting

        given = getattr(self.backup, name) if name in self.backup.model_fields_set else None
        default: Target = getattr(self.backup, name)
        sources = [
            Source(f"configuration file backup.{name}", lambda: given),
            Source(
                f"configuration default backup.{name} (local folder {default.path})", lambda: default, True
            ),
        ]
        try:
            target, _source = resolve_setting(f"backup.{name}", sources, self.deployment.mode)
        except SettingNotFound as exc:
            raise ConfigError(str(exc)) from None
        return target

    def library_db_url(self) -> str:
        """Env var first, then the Airflow connection, then (embedded mode only) the SQLite default.

        Logs which sources were tried and which one won. A connection that is set but unreadable
        is an error; in the distributed mode, finding neither is an error too (workers must never
        each write their own SQLite file).
        """
        from .connections import ConnectionUnusable, SettingNotFound, Source, resolve_setting, sqlalchemy_url

        db = self.deployment.library_database
        sources = [Source(f"env {db.url_env}", lambda: os.environ.get(db.url_env))]
        if db.conn_id:
            conn_id = db.conn_id
            sources.append(Source(f"Airflow connection '{conn_id}'", lambda: sqlalchemy_url(conn_id)))
        sources.append(
            Source(
                "configuration default deployment.library_database.default_url (SQLite)",
                lambda: _resolve_sqlite(db.default_url),
                embedded=True,
            )
        )
        try:
            url, _source = resolve_setting("deployment.library_database", sources, self.deployment.mode)
        except ConnectionUnusable as exc:
            raise ConfigError(f"deployment.library_database: {exc}") from None
        except SettingNotFound as exc:  # the message names the key and the sources tried
            raise ConfigError(str(exc)) from None
        return url


def folder_name(text: str) -> str:
    """A run id (or a library stem) as one folder name: the same in the work dir, the report dir
    and the plugin's report URL."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def home() -> Path:
    """Where relative configured paths start: ALTIUM2KICAD_HOME, else the project folder."""
    return Path(os.environ.get(HOME_ENV) or PROJECT_ROOT)


def _resolve_sqlite(url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str(home() / url[len(prefix) :])
    return url


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
