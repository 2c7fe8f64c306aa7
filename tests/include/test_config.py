"""The configuration: the documented default loads; bad values are named by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.config import DEFAULT_CONFIG, ConfigError, load_config, parse_config


def test_default_config_works_out_of_the_box(monkeypatch):
    monkeypatch.delenv("ALTIUM2KICAD_DB_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_ALTIUM2KICAD_LIBRARY_DB", raising=False)
    cfg = load_config(DEFAULT_CONFIG)
    assert {"development", "testing", "production"} <= set(cfg.environments)
    assert [cfg.environment(n).validation_level for n in ("development", "testing", "production")] == [
        "basic",
        "full",
        "strict",
    ]
    assert cfg.library_db_url().startswith("sqlite:////")
    assert [s.name for s in cfg.project_templates["full_library_migration"].stages] == [
        "preparation",
        "migration",
        "validation",
        "deployment",
    ]
    assert cfg.approvals.auto_approve is False


def test_env_var_chooses_the_file_and_db_url(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text(DEFAULT_CONFIG.read_text().replace("default_sample_size: 3", "default_sample_size: 7"))
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(path))
    monkeypatch.setenv("ALTIUM2KICAD_DB_URL", "postgresql://u:secret@db/lib")
    cfg = load_config()
    assert cfg.workflows.default_sample_size == 7
    assert cfg.library_db_url() == "postgresql://u:secret@db/lib"


@pytest.mark.parametrize(
    "change, key, problem",
    [
        (
            "validation_level: basic",
            "environments.development.validation_level",
            "'basic', 'full' or 'strict'",
        ),
        ("default_sample_size: 3", "workflows.default_sample_size", "greater than or equal to 1"),
        ("kind: local                 # local | s3", "environments.development.target", "needs 'bucket'"),
        ("caching:\n  enabled: true", "caching.enabeld", "unknown key"),
    ],
)
def test_errors_name_key_and_problem(change, key, problem):
    bad = {
        "validation_level: basic": "validation_level: sloppy",
        "default_sample_size: 3": "default_sample_size: 0",
        "kind: local                 # local | s3": "kind: s3",
        "caching:\n  enabled: true": "caching:\n  enabeld: true",
    }[change]
    text = DEFAULT_CONFIG.read_text().replace(change, bad, 1)
    with pytest.raises(ConfigError) as err:
        parse_config(text, Path("x.yaml"))
    assert key in str(err.value) and problem in str(err.value), str(err.value)


def test_password_in_file_is_refused():
    text = DEFAULT_CONFIG.read_text().replace(
        "default_url: sqlite:///var/altium2kicad/library.db", "default_url: postgresql://u:hunter2@db/lib"
    )
    with pytest.raises(ConfigError, match="deployment.library_database"):
        parse_config(text, Path("x.yaml"))


def test_unknown_environment_and_missing_file(tmp_path):
    cfg = load_config(DEFAULT_CONFIG)
    with pytest.raises(ConfigError, match="no environment 'staging'"):
        cfg.environment("staging")
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "absent.yaml")


def _with_mode(mode: str, text: str | None = None):
    text = (text or DEFAULT_CONFIG.read_text()).replace("mode: embedded", f"mode: {mode}", 1)
    return parse_config(text, Path("test.yaml"))


def _without_backup_stores(text: str) -> str:
    """The default file with backup.primary and backup.secondary left out (their defaults apply)."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("  primary:"))
    end = next(i for i, line in enumerate(lines) if line.startswith("  full:"))
    return "".join(lines[:start] + lines[end:])


def test_backup_stores_never_fall_back_to_local_folders_when_distributed(caplog):
    caplog.set_level("INFO", logger="include.connections")
    text = _without_backup_stores(DEFAULT_CONFIG.read_text())
    embedded = _with_mode("embedded", text)
    assert embedded.backup_target("primary").path == "var/altium2kicad/backups/primary"
    assert "backup.primary: from configuration default backup.primary (local folder" in caplog.text
    with pytest.raises(ConfigError) as raised:
        _with_mode("distributed", text).backup_target("secondary")
    assert str(raised.value) == (
        "backup.secondary: not found (tried configuration file backup.secondary); deployment.mode "
        "distributed never falls back to the configuration default backup.secondary (local folder "
        "var/altium2kicad/backups/secondary)"
    )
    # stores the file names are used as they are, local folders on shared storage included
    explicit = _with_mode("distributed")
    assert explicit.backup_target("primary").path == "var/altium2kicad/backups/primary"


def test_kicad_cli_lookup_logs_the_sources(monkeypatch, caplog, tmp_path):
    caplog.set_level("INFO")
    monkeypatch.delenv("ALTIUM2KICAD_KICAD_CLI", raising=False)
    assert _with_mode("embedded").kicad_cli() is None
    assert (
        "deployment.kicad_cli: not found (tried env ALTIUM2KICAD_KICAD_CLI, configuration "
        "deployment.kicad_cli): the KiCad load checks are skipped" in caplog.text
    )
    cli = tmp_path / "kicad-cli"
    cli.write_text("")
    monkeypatch.setenv("ALTIUM2KICAD_KICAD_CLI", str(cli))
    assert _with_mode("embedded").kicad_cli() == cli
    assert "deployment.kicad_cli: from env ALTIUM2KICAD_KICAD_CLI" in caplog.text
