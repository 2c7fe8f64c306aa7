"""docker-compose.yaml, the Dockerfile and the generated nginx config: valid for Debian's
docker-compose and nginx, secrets only from .env, a healthcheck on every long-running service."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from include.config import load_config
from include.operations import stack

REPO = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = REPO / ".env.example"
MODELS = REPO / "deploy" / "compose"  # the multi-host placements of the deployment models
SECRET_KEYS = re.compile(r"PASSWORD|SECRET|FERNET|ROOT_USER|AUTH$")


def _example_keys() -> list[str]:
    """The keys .env.example requires (KEY=)."""
    return [
        line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"^[A-Z_]+=", line)
    ]


def _optional_keys() -> list[str]:
    """The keys .env.example lists as optional (# KEY=)."""
    return re.findall(r"^# ([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.M)


def test_env_example_lists_every_variable_of_the_compose_file():
    files = [REPO / "docker-compose.yaml", *MODELS.glob("*.yaml")]
    text = "".join(path.read_text() for path in files)
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    listed = (
        set(_example_keys()) | set(_optional_keys()) | set(stack.stack_env(load_config(stack.STACK_CONFIG)))
    )
    assert used - listed == set(), "not in .env.example"
    assert set(_example_keys()) | set(_optional_keys()) <= used


@pytest.fixture
def compose():
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose not installed (./run setup installs it)")
    return tool


@pytest.fixture
def env_file(tmp_path) -> Path:
    """.env.example with a value for every key, as a user's .env would be."""
    path = tmp_path / ".env"
    path.write_text("".join(f"{k}=value-of-{k.lower()}\n" for k in _example_keys()))
    return path


def _config(
    compose: str, env_file: Path, *args: str, overrides: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in _example_keys() + _optional_keys()}
    files = [arg for name in ("docker-compose.yaml", *overrides) for arg in ("-f", str(REPO / name))]
    return subprocess.run(
        [compose, *files, "--env-file", str(env_file), "config", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _services() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yaml").read_text())["services"]


def test_config_is_valid_with_secrets_from_env_file(compose, env_file):
    out = _config(compose, env_file, "-q")
    assert out.returncode == 0, out.stderr
    assert {
        "postgres",
        "redis",
        "minio",
        "nginx",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
        "flower",
    } <= set(_services())


def test_every_key_of_env_example_is_needed(compose, env_file):
    """Each secret is refused when missing, so .env.example lists exactly what must be set."""
    from concurrent.futures import ThreadPoolExecutor

    text = env_file.read_text()

    def refused(key: str) -> tuple[str, bool, str]:
        without = env_file.with_name(f"without-{key}")
        without.write_text(
            "".join(line + "\n" for line in text.splitlines() if not line.startswith(key + "="))
        )
        out = _config(compose, without, "-q")
        return key, out.returncode != 0 and key in out.stderr, out.stderr

    with ThreadPoolExecutor(4) as pool:
        for key, ok, stderr in pool.map(refused, _example_keys()):
            assert ok, (key, stderr)


def test_env_example_has_no_values():
    for line in ENV_EXAMPLE.read_text().splitlines():
        if re.match(r"^[A-Z_]+=", line):
            assert line.endswith("="), f".env.example must list keys only: {line}"
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()


def test_no_secret_inline():
    """Every password, secret or key in the compose file is a ${VARIABLE}, never a literal."""
    text = (REPO / "docker-compose.yaml").read_text()
    for service, spec in _services().items():
        env = spec.get("environment") or {}
        for key, value in env.items():
            if SECRET_KEYS.search(key) and not key.endswith("_FILE") and value is not None:
                assert str(value).startswith("${"), f"{service}: {key} is inline"
    for url in re.findall(r"[a-z+]+://[^\s\"']+", text):
        if "@" in url:
            userinfo = url.split("://", 1)[1].split("@", 1)[0]
            assert ":" not in userinfo or "${" in userinfo, f"password inline in {url}"


AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "flower",
}
# secret -> the only services whose environment may hold its value
SECRET_HOLDERS = {
    "POSTGRES_PASSWORD": {"postgres"},
    "AIRFLOW_DB_PASSWORD": {"postgres"} | AIRFLOW_SERVICES,
    "LIBRARY_DB_PASSWORD": {"postgres", "airflow-init", "airflow-worker"},
    "REDIS_PASSWORD": {"redis"} | AIRFLOW_SERVICES,
    "AIRFLOW_FERNET_KEY": AIRFLOW_SERVICES,
    "AIRFLOW_JWT_SECRET": AIRFLOW_SERVICES,
    "AIRFLOW_API_SECRET_KEY": AIRFLOW_SERVICES,
    "AIRFLOW_ADMIN_PASSWORD": {"airflow-init"},
    "MINIO_ROOT_USER": {"minio", "minio-init", "airflow-worker"},
    "MINIO_ROOT_PASSWORD": {"minio", "minio-init", "airflow-worker"},
    # the directory's secrets: where people sign in (api-server), roles are set up (init) and, for
    # LDAP, approvals list the members of their roles' groups (workers run the approval tasks)
    "ALTIUM2KICAD_LDAP_BIND_PASSWORD": {"airflow-init", "airflow-apiserver", "airflow-worker"},
    "ALTIUM2KICAD_OAUTH_CLIENT_SECRET": {"airflow-init", "airflow-apiserver"},
}


def test_secrets_only_where_needed(compose, env_file):
    """Each secret's value, in the configuration docker-compose resolves, reaches only its holders."""
    with env_file.open("a") as f:
        for key in _optional_keys():
            f.write(f"{key}=value-of-{key.lower()}\n")
    out = _config(compose, env_file)
    assert out.returncode == 0, out.stderr
    services = yaml.safe_load(out.stdout)["services"]
    assert AIRFLOW_SERVICES <= set(services)
    for key, holders in SECRET_HOLDERS.items():
        value = f"value-of-{key.lower()}"
        holding = {
            name for name, spec in services.items() if value in yaml.safe_dump(spec.get("environment") or {})
        }
        assert holding == holders, f"{key} reaches {sorted(holding)}, expected {sorted(holders)}"
    assert not any("secrets" in str(spec.get("volumes")) for spec in services.values())


def test_production_auth_manager(compose, env_file):
    """FAB's auth manager (ours) with the image's webserver_config.py; no simple auth manager left."""
    from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager

    from include.access.auth_manager import Altium2KicadAuthManager
    from include.access.fab_settings import AUTH_DB, fab_settings

    out = _config(compose, env_file)
    assert out.returncode == 0, out.stderr
    assert "SIMPLE_AUTH_MANAGER" not in (REPO / "docker-compose.yaml").read_text()
    assert "SIMPLE_AUTH_MANAGER" not in out.stdout and "SimpleAuthManager" not in out.stdout
    dockerfile = (REPO / "Dockerfile").read_text()
    for name, spec in yaml.safe_load(out.stdout)["services"].items():
        if name not in AIRFLOW_SERVICES:
            continue
        env = spec["environment"]
        module, _, cls = env["AIRFLOW__CORE__AUTH_MANAGER"].rpartition(".")
        assert getattr(__import__(module, fromlist=[cls]), cls) is Altium2KicadAuthManager, name
        config_file = env["AIRFLOW__FAB__CONFIG_FILE"]
        # the image holds it, copied from deploy/ in the repo
        assert config_file == "/opt/altium2kicad/deploy/webserver_config.py", name
        assert f"COPY --chown=airflow:0 deploy/webserver_config.py {config_file}" in dockerfile
        assert env["ALTIUM2KICAD_CONFIG"] == "/opt/altium2kicad/config/distributed.yaml", name
    assert issubclass(Altium2KicadAuthManager, FabAuthManager)
    api = yaml.safe_load(out.stdout)["services"]["airflow-apiserver"]["environment"]
    assert api["AIRFLOW__FAB__ENABLE_PROXY_FIX"] == "true"  # behind nginx
    # the stack's configuration is one the FAB webserver_config.py accepts
    users = load_config(REPO / "config" / "distributed.yaml").user_management
    assert fab_settings(users, environ={})["AUTH_TYPE"] == AUTH_DB


def test_init_sets_up_fab_roles_and_the_first_admin():
    """airflow-init: Airflow's and FAB's tables, our roles (a real subcommand), then the admin."""
    init = _services()["airflow-init"]["command"][-1]
    steps = [
        "airflow db migrate",
        "airflow fab-db migrate",
        "python -m include.access sync-roles",
        "python -m include.workflow.concurrency",
        "airflow users create --role Admin",
        'chown -R "$${AIRFLOW_UID}:0" /opt/airflow /data',
    ]
    positions = [init.index(step) for step in steps]
    assert positions == sorted(positions), init
    for flag, key in (("--username", "AIRFLOW_ADMIN_USERNAME"), ("--email", "AIRFLOW_ADMIN_EMAIL")):
        assert f'{flag} "$${{{key}}}"' in init
    assert '--password "$${AIRFLOW_ADMIN_PASSWORD}"' in init
    env = _services()["airflow-init"]["environment"]
    for key in ("AIRFLOW_ADMIN_USERNAME", "AIRFLOW_ADMIN_EMAIL", "AIRFLOW_ADMIN_PASSWORD"):
        assert env[key] == f"${{{key}:?set {key} in .env}}"
    help_text = subprocess.run(
        [sys.executable, "-m", "include.access", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert help_text.returncode == 0 and "sync-roles" in help_text.stdout


def test_image_builds_python_ldap_in_a_build_stage():
    """python-ldap is compiled against libldap/libsasl2 headers in a stage the final image leaves."""
    dockerfile = (REPO / "Dockerfile").read_text()
    build, final = dockerfile.split("\nFROM apache/airflow:", 2)[1:]
    assert build.splitlines()[0].endswith(" AS wheels")
    for package in ("build-essential", "libldap-dev", "libsasl2-dev"):
        assert package in build and package not in final
    assert "pip wheel" in build and "python-ldap==" in build
    assert "COPY --from=wheels" in final and "--find-links /tmp/wheels" in final
    assert 'python -c "import ldap, authlib"' in final
    assert re.search(r"^python-ldap==\S+$", (REPO / "requirements.txt").read_text(), re.M)


def test_metrics_are_on(compose, env_file):
    """Airflow's StatsD metrics (and ours, monitoring.statsd) go to the exporter by default."""
    out = _config(compose, env_file)
    assert out.returncode == 0, out.stderr
    services = yaml.safe_load(out.stdout)["services"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__METRICS__STATSD_ON"] == "true", name
        assert env["AIRFLOW__METRICS__STATSD_HOST"] in services
    assert load_config(REPO / "config" / "distributed.yaml").monitoring.statsd is True


def test_every_service_has_a_healthcheck():
    """Long-running services are health-checked; one-shots are waited for until they succeed."""
    services = _services()
    one_shots = {name for name, spec in services.items() if spec.get("restart") == "no"}
    assert one_shots == {"airflow-init", "minio-init"}
    for name, spec in services.items():
        if name not in one_shots:
            assert "healthcheck" in spec and spec["healthcheck"]["test"], f"{name}: no healthcheck"
            assert spec["healthcheck"]["interval"], name
    waited = {
        dep
        for spec in services.values()
        for dep, cond in (spec.get("depends_on") or {}).items()
        if cond["condition"] == "service_completed_successfully"
    }
    assert waited == one_shots
    api = services["airflow-apiserver"]["healthcheck"]["test"]
    assert "http://localhost:8080/api/v2/monitor/health" in api


def test_healthchecks_follow_the_guide(compose, env_file):
    """interval 10 s, timeout 5 s, 3 failures in a row (load_balancer), on Airflow's health endpoints;
    two schedulers and two triggerers (scaling) by default."""
    config = load_config(stack.STACK_CONFIG)
    lb = config.load_balancer
    assert (lb.health_check_interval, lb.health_check_timeout, lb.max_fails) == (10, 5, 3)
    assert (config.scaling.schedulers, config.scaling.triggerers) == (2, 2)
    out = _config(compose, env_file)  # without the stack block: the compose file's own defaults
    assert out.returncode == 0, out.stderr
    services = yaml.safe_load(out.stdout)["services"]
    for name, spec in services.items():
        if spec.get("restart") != "no":
            check = spec["healthcheck"]
            assert (check["interval"], check["timeout"], check["retries"]) == ("10s", "5s", 3), name
    assert "http://localhost:8974/health" in services["airflow-scheduler"]["healthcheck"]["test"]
    assert services["airflow-scheduler"]["deploy"]["replicas"] == 2
    assert services["airflow-triggerer"]["deploy"]["replicas"] == 2
    assert stack.stack_env(config)["HEALTH_INTERVAL"] == "10s"


def test_services_run_as_the_airflow_user_on_the_built_image():
    services = _services()
    dockerfile = (REPO / "Dockerfile").read_text()
    pinned = re.search(r"^apache-airflow==(\S+)$", (REPO / "requirements.txt").read_text(), re.M)[1]
    assert f"FROM apache/airflow:{pinned}-python3.11" in dockerfile
    assert dockerfile.rstrip().splitlines()[-1] and "USER airflow" in dockerfile
    assert dockerfile.rindex("USER airflow") > dockerfile.rindex("USER root")
    for package in ("mdbtools", "unixodbc", "libsqliteodbc", "odbc-postgresql", "odbc-mariadb"):
        assert package in dockerfile
    assert "-c /tmp/altium2kicad/constraints.txt" in dockerfile
    text = (REPO / "docker-compose.yaml").read_text()
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in text  # nothing installed at container start
    for name, spec in services.items():
        if name.startswith("airflow-") and name != "airflow-init" or name == "flower":
            assert spec["user"] == "${AIRFLOW_UID:-50000}:0", name
            assert spec["build"] == "."
    init = services["airflow-init"]["command"][-1]
    # the root-run init hands everything it wrote to the Airflow user, after writing it
    assert init.rindex('chown -R "$${AIRFLOW_UID}:0" /opt/airflow /data') > init.rindex("airflow db migrate")
    assert "upgrade(load_config().library_db_url())" in init


def test_library_database_has_its_own_role():
    services = _services()
    script = (REPO / "deploy" / "postgres" / "init-databases.sh").read_text()
    assert "CREATE ROLE altium2kicad LOGIN" in script and "NOSUPERUSER" in script
    assert "CREATE DATABASE altium2kicad OWNER altium2kicad" in script
    assert "REVOKE ALL ON DATABASE altium2kicad FROM PUBLIC" in script
    worker = services["airflow-worker"]["environment"]["ALTIUM2KICAD_DB_URL"]
    assert worker.startswith("postgresql+psycopg2://altium2kicad:${LIBRARY_DB_PASSWORD}@")
    airflow = yaml.safe_load((REPO / "docker-compose.yaml").read_text())["x-airflow-common"]["environment"]
    assert "airflow:${AIRFLOW_DB_PASSWORD" in airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def test_library_database_init_script_runs_on_a_real_server(tmp_path):
    """The init script on the machine's PostgreSQL: the library role reaches only its database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from tests.scratch_databases import PG_SERVER

    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql not installed")
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    script = (REPO / "deploy" / "postgres" / "init-databases.sh").read_text()
    tag = os.urandom(4).hex()
    script = (
        script.replace("ROLE airflow ", f"ROLE af_{tag} ")
        .replace("ROLE altium2kicad ", f"ROLE lib_{tag} ")
        .replace("DATABASE airflow OWNER airflow", f"DATABASE af_{tag} OWNER af_{tag}")
        .replace("DATABASE altium2kicad OWNER altium2kicad", f"DATABASE lib_{tag} OWNER lib_{tag}")
        .replace("DATABASE airflow FROM", f"DATABASE af_{tag} FROM")
        .replace("DATABASE altium2kicad FROM", f"DATABASE lib_{tag} FROM")
    )
    (tmp_path / "init.sh").write_text(script)
    host = PG_SERVER.split("@", 1)[1]
    env = {
        **os.environ,
        "POSTGRES_USER": PG_SERVER.split("://", 1)[1].split("@")[0],
        "POSTGRES_DB": "postgres",
        "PGHOST": host.split(":")[0],
        "PGPORT": host.split(":")[1] if ":" in host else "5432",
        "AIRFLOW_DB_PASSWORD": "af-pw",
        "LIBRARY_DB_PASSWORD": "lib-pw",
    }
    try:
        out = subprocess.run(["bash", str(tmp_path / "init.sh")], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        server = PG_SERVER.split("@", 1)[1]
        lib = create_engine(f"postgresql+psycopg2://lib_{tag}:lib-pw@{server}/lib_{tag}")
        with lib.connect() as conn:
            conn.execute(text("CREATE TABLE t (x int)"))  # owns its database's schema
            conn.commit()
        lib.dispose()
        with pytest.raises(OperationalError, match="permission denied"):
            other = create_engine(f"postgresql+psycopg2://lib_{tag}:lib-pw@{server}/af_{tag}")
            try:
                other.connect().close()
            finally:
                other.dispose()
    finally:
        with admin.connect() as conn:
            for db in (f"af_{tag}", f"lib_{tag}"):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            for role in (f"af_{tag}", f"lib_{tag}"):
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def test_distributed_config_differs_only_where_it_says():
    default = yaml.safe_load((REPO / "config" / "altium2kicad.yaml").read_text())
    distributed = yaml.safe_load((REPO / "config" / "distributed.yaml").read_text())
    assert distributed["deployment"]["mode"] == "distributed"
    assert distributed["environments"]["production"]["target"]["aws_conn_id"] == "altium2kicad_s3"
    assert distributed["user_management"]["authentication"]["method"] == "database"  # FAB's
    assert distributed["monitoring"]["statsd"] is True
    distributed["deployment"]["mode"] = default["deployment"]["mode"]
    distributed["environments"]["production"] = default["environments"]["production"]
    distributed["user_management"]["authentication"] = default["user_management"]["authentication"]
    distributed["monitoring"]["statsd"] = default["monitoring"]["statsd"]
    assert distributed == default
    load_config(REPO / "config" / "distributed.yaml")


# -- nginx ---------------------------------------------------------------------------------------
@pytest.fixture
def nginx():
    tool = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if tool is None:
        pytest.skip("nginx not installed (./run setup installs it)")
    return tool


def _nginx_test(nginx: str, text: str, folder: Path) -> subprocess.CompletedProcess:
    conf = folder / "nginx.conf"
    conf.write_text(text)
    return subprocess.run(
        [nginx, "-t", "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _rendered_for_test(config, folder: Path) -> str:
    # nginx -t resolves upstream names, so the test points at localhost instead of the service name
    return stack.render_nginx(config, "127.0.0.1:9", "127.0.0.1:18080", stack.NginxPaths.under(folder))


def test_generated_nginx_config_passes_nginx_t(nginx, tmp_path):
    config = load_config(stack.STACK_CONFIG)
    out = _nginx_test(nginx, _rendered_for_test(config, tmp_path), tmp_path)
    assert out.returncode == 0, out.stderr
    assert "test is successful" in out.stderr


def test_nginx_t_fails_on_a_broken_template(nginx, tmp_path, monkeypatch):
    """The check can fail: a template missing a closing brace is refused by nginx -t."""
    broken = tmp_path / "broken.template"
    broken.write_text(stack.TEMPLATE.read_text().rstrip().removesuffix("}"))
    monkeypatch.setattr(stack, "TEMPLATE", broken)
    out = _nginx_test(nginx, _rendered_for_test(load_config(stack.STACK_CONFIG), tmp_path), tmp_path)
    assert out.returncode != 0


def test_committed_nginx_config_is_the_rendered_one():
    """deploy/nginx/nginx.conf (mounted by compose) is what the stack's configuration renders."""
    assert stack.RENDERED.read_text() == stack.render_nginx(load_config(stack.STACK_CONFIG))


def test_load_balancer_settings_reach_nginx():
    text = (REPO / "config" / "distributed.yaml").read_text()
    base = yaml.safe_load(text)
    from include.config import PipelineConfig

    def render(**lb) -> str:
        data = {**base, "load_balancer": {**base["load_balancer"], **lb}}
        return stack.render_nginx(PipelineConfig.model_validate(data))

    assert "least_conn;" in render(algorithm="least_connections")
    round_robin = render(algorithm="round_robin")
    assert "least_conn;" not in round_robin and "hash $remote_addr" not in round_robin
    sticky = render(algorithm="round_robin", session_persistence=True)
    assert "hash $remote_addr consistent;" in sticky
    checked = render(health_check_interval=17, max_fails=5, health_check_timeout=4)
    assert "max_fails=5 fail_timeout=17s;" in checked
    health = checked.split("location = /api/v2/monitor/health {", 1)[1].split("}", 1)[0]
    assert "proxy_pass http://airflow_api;" in health  # Airflow's health endpoint, through the balancer
    assert "proxy_connect_timeout 4s;" in health and "proxy_read_timeout 4s;" in health
    assert checked.count("proxy_connect_timeout 4s;") == 2  # and for every proxied request


def test_session_persistence_with_least_connections_is_refused():
    from include.config import ConfigError, parse_config

    text = (
        (REPO / "config" / "distributed.yaml")
        .read_text()
        .replace("session_persistence: false", "session_persistence: true")
    )
    with pytest.raises(ConfigError, match="load_balancer: session_persistence pins"):
        parse_config(text, Path("distributed.yaml"))


def test_scaling_reaches_compose(compose, env_file, tmp_path):
    """`render` writes the stack block of .env; docker-compose then scales as configured."""
    from include.config import PipelineConfig

    base = yaml.safe_load((REPO / "config" / "distributed.yaml").read_text())
    base["scaling"] = {
        "api_servers": 3,
        "schedulers": 4,
        "triggerers": 6,
        "workers": 5,
        "worker_concurrency": 7,
    }
    base["monitoring"]["statsd"] = True
    base["load_balancer"].update(health_check_interval=12, health_check_timeout=4, max_fails=2)
    config = PipelineConfig.model_validate(base)
    stack.render(config, env_file, tmp_path / "nginx.conf")
    stack.render(config, env_file, tmp_path / "nginx.conf")  # idempotent: one block
    assert env_file.read_text().count(stack.ENV_BEGIN) == 1
    assert "AIRFLOW_ADMIN_PASSWORD=value" in env_file.read_text()  # secrets kept
    out = _config(compose, env_file)
    assert out.returncode == 0, out.stderr
    services = yaml.safe_load(out.stdout)["services"]
    assert services["airflow-apiserver"]["deploy"]["replicas"] == 3
    assert services["airflow-worker"]["deploy"]["replicas"] == 5
    assert services["airflow-scheduler"]["deploy"]["replicas"] == 4
    assert services["airflow-triggerer"]["deploy"]["replicas"] == 6
    for name, spec in services.items():
        if "healthcheck" in spec:
            check = spec["healthcheck"]
            assert (check["interval"], check["timeout"], check["retries"]) == ("12s", "4s", 2), name
    env = services["airflow-worker"]["environment"]
    assert env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "7"
    assert env["AIRFLOW__METRICS__STATSD_ON"] == "true"


# -- deployment models on several hosts ----------------------------------------------------------
def test_distributed_model_control_plane_and_worker_host(compose, env_file):
    """The two placements of the distributed/hybrid models are valid overrides of this stack."""
    with env_file.open("a") as f:
        f.write("CONTROL_PLANE_HOST=cp.example.internal\nSHARED_STORAGE_HOST=nfs.example.internal\n")
    storage = "deploy/compose/shared-storage.yaml"

    out = _config(compose, env_file, overrides=(storage, "deploy/compose/control-plane.yaml"))
    assert out.returncode == 0, out.stderr
    control = yaml.safe_load(out.stdout)
    assert control["services"]["airflow-worker"]["deploy"]["replicas"] == 0
    published = {
        name: {str(p["target"]) for p in control["services"][name]["ports"]}
        for name in ("postgres", "redis", "minio")
    }
    assert published == {"postgres": {"5432"}, "redis": {"6379"}, "minio": {"9000"}}
    for volume in ("airflow-logs", "altium2kicad-data"):
        opts = control["volumes"][volume]["driver_opts"]
        assert opts["type"] == "nfs" and "addr=nfs.example.internal" in opts["o"], volume

    out = _config(compose, env_file, overrides=(storage, "deploy/compose/worker-host.yaml"))
    assert out.returncode == 0, out.stderr
    worker = yaml.safe_load(out.stdout)["services"]["airflow-worker"]["environment"]
    for key in (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "ALTIUM2KICAD_DB_URL",
        "AIRFLOW_CONN_ALTIUM2KICAD_S3",
    ):
        assert "cp.example.internal" in worker[key], key
        assert "@postgres/" not in worker[key] and "redis:6379" not in worker[key], key
    # the worker host's own settings are still the base file's (auth manager, metrics)
    assert worker["AIRFLOW__CORE__AUTH_MANAGER"] == "include.access.auth_manager.Altium2KicadAuthManager"

    missing = env_file.with_name("no-host.env")
    missing.write_text(env_file.read_text().replace("CONTROL_PLANE_HOST=cp.example.internal\n", ""))
    out = _config(compose, missing, "-q", overrides=(storage, "deploy/compose/worker-host.yaml"))
    assert out.returncode != 0 and "CONTROL_PLANE_HOST" in out.stderr
