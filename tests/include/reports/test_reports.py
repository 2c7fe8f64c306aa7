"""The weekly PDF and the daily e-mail from a real library database, sent to a real SMTP server."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest

from include.config import PipelineConfig
from include.library_db.store import LibraryStore
from include.reports import jobs
from tests.notification_peers import connections, mail_server, make_config
from tests.report_rows import item_row

NOW = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
STARTS = [datetime(2026, 11, 30, 10, tzinfo=UTC), datetime(2026, 12, 1, 10, tzinfo=UTC), NOW.replace(hour=9)]


class _NoWebhook:
    url = "http://127.0.0.1:9"


@pytest.fixture
def setup(tmp_path, monkeypatch):
    with mail_server() as mail:
        for k, v in connections(_NoWebhook(), mail).items():
            monkeypatch.setenv(k, v)
        base = make_config({"email": "test_smtp"})
        data = base.model_dump(mode="json")
        data["progress_tracking"].update(
            management_team=["alice", "boss@example.com"],
            project_team=["bob"],
            report_dir=str(tmp_path / "reports"),
        )
        config = PipelineConfig.model_validate(data)
        url = f"sqlite:///{tmp_path / 'lib.db'}"
        monkeypatch.setenv(config.deployment.library_database.url_env, url)
        store = LibraryStore(url)
        for n, (env, status, ok, bad) in enumerate(
            [("test", "success", 8, 2), ("staging", "success", 9, 1), ("production", "failed", 5, 5)]
        ):
            run = f"run_{n}"
            store.start_run(run, "full_library_migration", "/src", env, "full", "/w")
            store.update_run(run, status=status, started_at=STARTS[n])
            rows = [item_row("Resistors", f"R{i}", "ok") for i in range(ok)]
            rows += [
                item_row("Connectors" if n else "Diodes", f"X{i}", "failed", ["pin mismatch"])
                for i in range(bad)
            ]
            store.put_converted_items(run, "full", rows)
            store.put_metrics(
                run,
                {
                    "components_migrated": (float(ok), "items"),
                    "migration_quality": (ok / (ok + bad), "ratio"),
                    "time_spent": (100.0 * (n + 1), "seconds"),
                },
            )
        _waiting_runs(store)
        yield config, mail


def _waiting_runs(store: LibraryStore) -> None:
    """Runs at each approval: a migration after its test migration (review_test_results), one
    after deploy_to_test (user_acceptance_testing), one whose review is decided, a promotion whose
    version passed validation, and one whose validation failed (it never asks)."""
    for run, audits in {
        "mig_review": [],
        "mig_uat": [("approval_outcome", {"task": "migration.review_test_results"}), ("deployed_test", {})],
        "mig_decided": [("approval_outcome", {"task": "migration.review_test_results"})],
    }.items():
        store.start_run(run, "full_library_migration", "/src", "test", "full", "/w")
        store.update_run(run, started_at=STARTS[0])
        store.put_converted_items(run, "test", [item_row("Resistors", "R1", "ok")])
        for action, detail in audits:
            store.audit(run, "airflow", action, detail)
    passed = {"workflow": "test_to_prod", "target": "production", "failures": []}
    store.audit("promo_waiting", "airflow", "promotion_validated", passed)
    failed = passed | {"failures": ["migration_outcome: quality 0.5 below 0.95"]}
    store.audit("promo_invalid", "airflow", "promotion_validated", failed)


def test_weekly_pdf_pages_text_and_mail(setup, tmp_path):
    config, mail = setup
    out = jobs.weekly_progress(config, NOW)
    pdf = out["pdf"]
    assert pdf.startswith(str(tmp_path / "reports"))
    subprocess.run(["pdftoppm", "-png", "-r", "40", pdf, str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages
    from PIL import Image

    for page in pages:
        lo, hi = Image.open(page).convert("L").getextrema()
        assert lo < 128 < hi, page  # not blank
    text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout
    for needle in (
        "run_0",
        "production",
        "80.00%",
        "90.00%",
        "50.00%",
        "target 95%",
        "Connectors: 6 failed",
        "pin mismatch",
        "Diodes: 2 failed",
    ):
        assert needle in text, needle
    open_part = " ".join(text.split("Open approvals")[1].split("Libraries")[0].split())
    assert "promote_test_to_prod promo_waiting (production) waits at approve for alice" in open_part
    assert "mig_review" in open_part and "mig_uat" in open_part
    assert "run_" not in open_part and "mig_decided" not in open_part and "promo_invalid" not in open_part
    assert len(mail.received) == 1
    m = mail.received[0]
    assert sorted(m.rcpt_tos) == ["alice@example.com", "boss@example.com"]
    names = [p.get_filename() for p in m.message.iter_attachments()]
    assert names == [out["pdf"].rsplit("/", 1)[1]]
    # knowledge_sharing.training: every required module linked, by its title
    for title, name in (("Basic migration", "basic-migration"), ("Quality assurance", "quality-assurance")):
        assert f'docs/training/{name}.md">{title}</a>' in m.html


def test_daily_status_mail(setup):
    config, mail = setup
    out = jobs.daily_status(config, NOW)
    assert out == {"recipients": ["bob@example.com"], "runs": 1, "failed": 1}
    m = mail.received[0]
    assert m.rcpt_tos == ["bob@example.com"]
    assert "run_2" in m.html and "run_0" not in m.html.split("Waiting")[0]
    waiting = m.html.split("Waiting")[1]
    assert (
        "full_library_migration mig_review (test) waits at migration.review_test_results "
        "(technical_review, 1 distinct approver) for alice" in waiting
    )
    assert "mig_uat (test) waits at deployment.user_acceptance_testing (quality_review" in waiting
    assert "for carol, alice" in waiting
    assert (
        "promo_waiting (production) waits at approve (final_approval, 2 distinct approvers) for alice"
        in waiting
    )
    assert "mig_decided" not in waiting and "promo_invalid" not in waiting and "run_" not in waiting


def test_a_finished_run_waits_for_nobody(setup):
    """A migration that failed or was rejected while at an approval is no longer waiting."""
    from include.reports import facts

    config, _ = setup
    store = LibraryStore(config.library_db_url())
    store.update_run("mig_review", status="failed")
    waiting = [a["run_id"] for a in facts.gather(config.library_db_url(), config)["open_approvals"]]
    assert waiting == ["mig_uat", "promo_waiting"]


def test_an_unknown_recipient_is_a_configuration_error(setup):
    config, _ = setup
    data = config.model_dump(mode="json")
    data["progress_tracking"]["project_team"] = ["bob", "dave"]
    with pytest.raises(ValueError, match=r"progress_tracking.project_team: dave is neither an e-mail"):
        PipelineConfig.model_validate(data)


def test_an_edited_report_template_wins(setup, tmp_path):
    """templates/reports/ are looked up like the notifications': notifications.templates_dir first."""
    config, mail = setup
    edited = tmp_path / "edited"
    (edited / "reports").mkdir(parents=True)
    (edited / "reports" / "daily_status.html").write_text("<p>Our own daily: {{ runs|length }} run(s)</p>")
    data = config.model_dump(mode="json")
    data["notifications"]["templates_dir"] = str(edited)
    jobs.daily_status(PipelineConfig.model_validate(data), NOW)
    assert "Our own daily: 1 run(s)" in mail.received[0].html


def test_a_run_that_converted_nothing_counts_its_total(setup):
    """A run stopped before the conversion (its metrics stored by include.run_outcome): its total
    is what the analysis found, not the zero converted rows."""
    from include.reports import facts

    config, _ = setup
    store = LibraryStore(config.library_db_url())
    store.start_run("run_stopped", "full_library_migration", "/src", "test", "full", "/w")
    store.put_metrics(
        "run_stopped", {"components_migrated": (0.0, "items"), "total_components": (600.0, "items")}
    )
    runs = {r["run_id"]: r for r in facts.gather(config.library_db_url())["runs"]}
    assert (runs["run_stopped"]["migrated"], runs["run_stopped"]["total"]) == (0.0, 600)
    assert runs["run_0"]["total"] == 10  # no total_components: the converted component items
