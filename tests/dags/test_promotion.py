"""promote_test_to_prod end to end: dag.test() runs, every approval answered over Airflow's REST API.

Real services: the metadata and library databases are scratch databases on the local PostgreSQL;
alice (release_manager) and bob (library_manager) log in to a real api-server (SimpleAuthManager)
and answer the two mapped HITL approvals of the final_approval level (two distinct users); the
git history goes to a local bare repository. Versions in `testing` are real conversions of the
sample library. The notifications go to real local peers (tests/notification_peers.py): Slack and
Teams webhooks on one HTTP server, e-mail to an SMTP server; each test checks what arrived there
during its run, to whom, with which link.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from .approvers import Approvers, users
from .conftest import REPO, _create_db, _drop_db

pytestmark = [pytest.mark.slow]
DAG = "promote_test_to_prod"


def write_release(folder: Path, drop_footprint: str | None = None) -> Path:
    """A release as deploy_to_test_environment assembles it, from a real conversion."""
    from converters.fixtures.sample_library import write_sample_library
    from include.conversion import convert_unit
    from include.deployment import assemble
    from include.mapping_rules import MappingRules

    libs = write_sample_library(folder / "src")
    outs = [Path(convert_unit(lib, folder / "out" / lib.stem, MappingRules()).out) for lib in libs]
    if drop_footprint:
        next((folder / "out").rglob(f"{drop_footprint}.kicad_mod")).unlink()
    return assemble(outs, folder / "release").folder


@pytest.fixture(scope="module")
def pipeline_env(tmp_path_factory):
    """Default config; testing and production local; roles for the final_approval level; git;
    the three notification channels at local peers."""
    from tests.notification_peers import ADDRESSES, CONN_IDS, Webhook, connections, mail_server
    from tests.scratch_databases import PG_SERVER

    webhook = Webhook()
    mail_context = mail_server()
    mail = mail_context.__enter__()
    tmp = tmp_path_factory.mktemp("promotion")
    bare = tmp / "history.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    config = yaml.safe_load((REPO / "config" / "altium2kicad.yaml").read_text())
    config["task_assignment"]["roles"] = {"release_manager": ["alice"], "library_manager": ["bob"]}
    config["environments"]["production"]["git"] = {"remote": str(bare), "branch": "main"}
    config["promotion"]["test_to_prod"]["scheduled_window"] = None  # the window has its own test
    channels = config["notifications"]["channels"]
    for channel, conn_id in CONN_IDS.items():
        channels[channel]["conn_id"] = conn_id
    channels["email"]["addresses"] = {u: ADDRESSES[u] for u in ("alice", "bob")}
    config["notifications"]["retry"] = {"attempts": 2, "backoff_seconds": 0.1}
    path = tmp / "altium2kicad.yaml"
    path.write_text(yaml.safe_dump(config))
    library_db = f"a2k_lib_{uuid.uuid4().hex[:10]}"
    _create_db(library_db)
    conns = {k: v for k, v in connections(webhook, mail).items() if k.startswith("AIRFLOW_CONN_")}
    env = {
        **conns,
        "ALTIUM2KICAD_CONFIG": str(path),
        "ALTIUM2KICAD_HOME": str(tmp / "home"),
        "ALTIUM2KICAD_DB_URL": f"{PG_SERVER}/{library_db}",
    }
    import os

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield {
        "home": tmp / "home",
        "db_url": env["ALTIUM2KICAD_DB_URL"],
        "git": bare,
        "config": path,
        "peers": Peers(webhook, mail),
    }
    webhook.close()
    mail_context.__exit__(None, None, None)
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    from include.library_db.database import engine

    engine.cache_clear()
    _drop_db(library_db)


@pytest.fixture(scope="module")
def promotion_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "promotion.py"))
    assert not bag.import_errors
    return bag.dags


def promote(dag, clients, answers, intruder=None):
    """answers[map_index] = (user, option, comment) of the mapped `approve`."""
    with Approvers(clients, DAG, {"approve": answers}, intruder) as approvers:
        run = dag.test(run_conf={})
    return run, approvers


@dataclass
class Inbox:
    """What the local peers received during one run."""

    slack: list[str]  # message texts
    teams: list[dict]  # Adaptive Card bodies
    mails: list  # tests.notification_peers.Mail

    def slack_with(self, *parts: str) -> list[str]:
        return [t for t in self.slack if all(p in t for p in parts)]

    def teams_titled(self, title: str) -> list[dict]:
        return [c for c in self.teams if title in json.dumps(c)]

    def mails_about(self, subject: str) -> list:
        return [m for m in self.mails if str(m.message["Subject"]).startswith(f"[altium2kicad] {subject}")]


class Peers:
    """The module's Slack/Teams webhook server and SMTP server; `mark()` then `since(mark)` is what
    arrived in between (every notification is sent by a callback before dag.test returns)."""

    def __init__(self, webhook, mail) -> None:
        self.webhook, self.mail = webhook, mail

    def mark(self) -> tuple[int, int]:
        return len(self.webhook.posts), len(self.mail.received)

    def since(self, mark: tuple[int, int]) -> Inbox:
        posts, mails = self.webhook.posts[mark[0] :], self.mail.received[mark[1] :]
        return Inbox(
            slack=[str(p.body.get("text", "")) for p in posts if p.path.startswith("/slack")],
            teams=[p.body for p in posts if p.path.startswith("/teams")],
            mails=mails,
        )


def approval_link(airflow_api, run_id: str, map_index: int) -> str:
    """The approval's page in the Airflow UI (`[api] base_url`: the test's api-server)."""
    return (
        f"{airflow_api.base_url}/dags/{DAG}/runs/{quote(run_id)}/tasks/approve/required_actions"
        f"?map_index={map_index}"
    )


def assert_asked_both(inbox: Inbox, airflow_api, run_id: str) -> None:
    """approval_required once per approval slot on every channel, the mail to both approvers, each
    with the link to its own approval page."""
    links = [approval_link(airflow_api, run_id, i) for i in (0, 1)]
    asked = inbox.slack_with("*Approval required*", "Who may answer: alice, bob")
    assert len(inbox.slack_with("*Approval required*")) == 2, inbox.slack
    assert sorted(link for link in links for t in asked if f"<{link}|" in t) == links, asked
    cards = inbox.teams_titled("Approval required")
    assert sorted(link for link in links for c in cards if link in json.dumps(c)) == links, cards
    mails = inbox.mails_about("Approval required")
    assert len(mails) == 2 and all(
        sorted(m.rcpt_tos) == ["alice@example.com", "bob@example.com"] for m in mails
    ), [(m.rcpt_tos, m.message["Subject"]) for m in mails]
    assert sorted(link for link in links for m in mails if f'href="{link}"' in m.html) == links


def deploy_to_testing(tmp: Path, version: str, drop_footprint: str | None = None) -> Path:
    from include.config import load_config
    from include.deployment import publish_local

    config = load_config()
    root = config.path(config.environments["testing"].target.path)
    publish_local(write_release(tmp / version, drop_footprint), root, version)
    return root / "versions" / version


def audit(pipeline_env, run_id) -> list[tuple[str, str, dict]]:
    from include.library_db.store import LibraryStore

    return [(a.actor, a.action, a.detail) for a in LibraryStore(pipeline_env["db_url"]).audit_log(run_id)]


def production(pipeline_env) -> Path:
    return pipeline_env["home"] / "var" / "altium2kicad" / "deploy" / "production"


def test_rejection_stops_the_promotion_with_the_reason(
    promotion_dag, airflow_api, pipeline_env, tmp_path_factory
):
    from include.config import load_config
    from include.workflow.promotion import report_path

    deploy_to_testing(tmp_path_factory.mktemp("v1"), "v1")
    answers = [("alice", "Approve", ""), ("bob", "Reject", "footprints off-grid")]
    mark = pipeline_env["peers"].mark()
    run, approvers = promote(promotion_dag[DAG], users(airflow_api), answers)
    inbox = pipeline_env["peers"].since(mark)
    states = task_states_of(run)
    assert str(run.state) == "failed", (states, approvers.errors)
    assert states["check_approvals"] == "failed" and states["publish"] == "upstream_failed"
    rows = audit(pipeline_env, run.run_id)
    assert [b for _, b, _ in rows][0] == "promotion_validated" and len(rows) == 4  # nothing promoted
    assert [(a, b) for a, b, _ in rows if b.startswith("approval")] == [
        ("alice", "approval_granted"),
        ("bob", "approval_rejected"),
        ("airflow", "approval_outcome"),
    ]
    rejected = next(d for _, action, d in rows if action == "approval_rejected")
    assert rejected["comment"] == "footprints off-grid" and rejected["level"] == "final_approval"
    assert not rejected["automatic"]
    reason = "final_approval: rejected by bob: footprints off-grid"
    assert next(d for _, a, d in rows if a == "approval_outcome")["reason"] == reason
    assert reason in report_path(load_config(), run.run_id).read_text()
    assert not (production(pipeline_env) / "current").exists()  # nothing published
    # what the local peers received: both approvers asked on every channel with their links, the
    # approval and the rejection with its reason (mailed to the approvers and the library manager),
    # check_approvals' failure as error_occurred with the reason and its log; nothing published
    assert_asked_both(inbox, airflow_api, run.run_id)
    assert len(inbox.slack_with("*Approved* by alice", f"<{approval_link(airflow_api, run.run_id, 0)}|")) == 1
    rejected = inbox.slack_with("*Rejected* by bob", ": footprints off-grid", "The run stops here")
    assert len(rejected) == 1 and approval_link(airflow_api, run.run_id, 1) in rejected[0], inbox.slack
    [mail] = inbox.mails_about("Rejected")
    assert sorted(mail.rcpt_tos) == ["alice@example.com", "bob@example.com"]
    assert "Rejected by bob. Reason: footprints off-grid" in mail.html
    [error] = inbox.slack_with(":x: *Task check_approvals failed*")
    assert f"ApprovalRefused: {reason}" in error and "/tasks/check_approvals?try_number=1|" in error
    [error_mail] = inbox.mails_about("Task check_approvals failed")
    assert error_mail.rcpt_tos == ["bob@example.com"] and reason in error_mail.html  # library_manager
    assert len(inbox.teams_titled("check_approvals")) == 1
    assert not inbox.slack_with("Workflow complete") and not inbox.mails_about("Workflow complete")


def test_same_user_twice_is_not_enough(promotion_dag, airflow_api, pipeline_env):
    answers = [("alice", "Approve", ""), ("alice", "Approve", "")]
    mark = pipeline_env["peers"].mark()
    run, approvers = promote(promotion_dag[DAG], users(airflow_api), answers, intruder="mallory")
    inbox = pipeline_env["peers"].since(mark)
    states = task_states_of(run)
    assert str(run.state) == "failed", (states, approvers.errors)
    assert states["check_approvals"] == "failed" and states["publish"] == "upstream_failed"
    # mallory holds neither role of final_approval: Airflow itself refuses her answer
    assert len(approvers.refused) == 2 and all("403" in r for r in approvers.refused)
    rows = audit(pipeline_env, run.run_id)
    assert [(a, b) for a, b, _ in rows] == [
        ("airflow", "promotion_validated"),
        ("alice", "approval_granted"),
        ("alice", "approval_granted"),
        ("airflow", "approval_outcome"),
    ]  # mallory's refused answers left no row
    reason = (
        "final_approval: 1 distinct approver(s) of 2 required (alice); "
        "a second answer by the same user does not count"
    )
    assert rows[-1][2] == {"level": "final_approval", "approved": False, "reason": reason}
    assert not (production(pipeline_env) / "current").exists()
    # both slots asked; alice's two approvals announced, nobody else's (mallory's were refused);
    # the shortfall is check_approvals' error, and nothing is complete
    assert_asked_both(inbox, airflow_api, run.run_id)
    assert len(inbox.slack_with("*Approved* by alice")) == 2
    assert not inbox.slack_with("*Approved* by bob") and not inbox.slack_with("mallory")
    [error] = inbox.slack_with(":x: *Task check_approvals failed*")
    assert reason in error, error
    [error_mail] = inbox.mails_about("Task check_approvals failed")
    assert error_mail.rcpt_tos == ["bob@example.com"] and "1 distinct approver(s) of 2" in error_mail.html
    assert not inbox.slack_with("Workflow complete") and not inbox.mails_about("Workflow complete")


def test_two_distinct_approvers_publish_exactly_the_tested_files(promotion_dag, airflow_api, pipeline_env):
    from include.deployment import manifest

    answers = [("alice", "Approve", "checked the footprints"), ("bob", "Approve", "")]
    mark = pipeline_env["peers"].mark()
    run, approvers = promote(promotion_dag[DAG], users(airflow_api), answers)
    inbox = pipeline_env["peers"].since(mark)
    states = task_states_of(run)
    assert str(run.state) == "success", (states, approvers.errors)
    live = production(pipeline_env) / "current"
    tested = pipeline_env["home"] / "var" / "altium2kicad" / "deploy" / "testing" / "versions" / "v1"
    assert manifest(live) == manifest(tested) and len(manifest(live)) > 10  # must-show 4
    rows = audit(pipeline_env, run.run_id)
    assert [(a, b) for a, b, _ in rows] == [
        ("airflow", "promotion_validated"),
        ("alice", "approval_granted"),
        ("bob", "approval_granted"),
        ("airflow", "approval_outcome"),
        ("airflow", f"promoted_{'test_to_prod'}"),
        ("airflow", "committed_to_git"),
    ]
    assert rows[0][2]["level"] == "strict" and all(rows[0][2]["gates"].values())
    assert rows[1][2]["comment"] == "checked the footprints"
    # each approver read the diff summary; its path is in the message and in XCom
    changes = xcom(run, "summarize_changes")
    assert all(f"Diff summary: {changes['path']}" in body for body in approvers.bodies.values())
    assert "symbols: +7 -0 ~0; footprints: +20 -0 ~0; parts: +0 -0 ~0." in approvers.bodies["approve", 0]
    assert "**footprints added:**" in Path(changes["path"]).read_text()
    # the version is a commit in the configured repository, its diff summary beside the files
    git = pipeline_env["git"]
    log = subprocess.run(
        ["git", "-C", str(git), "log", "--format=%s", "main"], capture_output=True, text=True
    )
    assert log.stdout.splitlines() == [
        "production: version v1 (promoted from testing, run " + run.run_id + ")"
    ]
    shown = subprocess.run(
        ["git", "-C", str(git), "show", "main:CHANGES.md"], capture_output=True, text=True, check=True
    )
    assert "| footprints | 20 | 0 | 0 |" in shown.stdout
    # asked, both approvals announced (alice's with her comment), then the workflow complete on
    # Slack and mailed to the participants; no error, no rejection
    assert_asked_both(inbox, airflow_api, run.run_id)
    assert len(inbox.slack_with("*Approved* by alice", "(checked the footprints)")) == 1
    assert len(inbox.slack_with("*Approved* by bob")) == 1
    run_link = f"{airflow_api.base_url}/dags/{DAG}/runs/{quote(run.run_id)}"
    [done] = inbox.slack_with("*Workflow complete*", f"<{run_link}|")
    assert f"run `{run.run_id}`" in done
    [done_mail] = inbox.mails_about("Workflow complete")
    assert sorted(done_mail.rcpt_tos) == ["alice@example.com", "bob@example.com"]  # participants
    assert f'href="{run_link}"' in done_mail.html
    assert (
        not inbox.slack_with(":x:")
        and not inbox.slack_with("*Rejected*")
        and not inbox.teams_titled("failed")
    )


def test_next_version_diff_and_rollback_in_one_run(
    promotion_dag, airflow_api, pipeline_env, tmp_path_factory
):
    deploy_to_testing(tmp_path_factory.mktemp("v2"), "v2", drop_footprint="SOT-23")
    mark = pipeline_env["peers"].mark()
    run, approvers = promote(
        promotion_dag[DAG], users(airflow_api), [("bob", "Approve", ""), ("alice", "Approve", "")]
    )
    inbox = pipeline_env["peers"].since(mark)
    assert str(run.state) == "success", (task_states_of(run), approvers.errors)
    assert "footprints: +0 -1 ~0" in approvers.bodies["approve", 0]
    git = pipeline_env["git"]
    diff = subprocess.run(
        ["git", "-C", str(git), "diff", "--stat", "main~1", "main", "--", "footprints"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "SOT-23.kicad_mod" in diff.stdout and "1 file changed" in diff.stdout
    assert json.loads((production(pipeline_env) / "CURRENT").read_text())["version"] == "v2"

    assert_asked_both(inbox, airflow_api, run.run_id)
    assert len(inbox.slack_with("*Workflow complete*", run.run_id)) == 1

    mark = pipeline_env["peers"].mark()
    rollback = promotion_dag["rollback_environment"].test(run_conf={"environment": "production"})
    assert pipeline_env["peers"].since(mark) == Inbox([], [], [])  # a rollback that works is quiet
    assert str(rollback.state) == "success", task_states_of(rollback)
    pointer = json.loads((production(pipeline_env) / "CURRENT").read_text())
    assert pointer["version"] == "v1" and pointer["previous"] == "v2"
    assert (
        production(pipeline_env) / "current" / "footprints" / "Sample.pretty" / "SOT-23.kicad_mod"
    ).is_file()
    assert [a for _, a, _ in audit(pipeline_env, rollback.run_id)] == ["rolled_back"]


def task_states_of(run) -> dict[str, str]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        tis = s.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id)
        )
        return {f"{t.task_id}[{t.map_index}]" if t.map_index >= 0 else t.task_id: str(t.state) for t in tis}


def xcom(run, task_id: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        value = s.scalar(
            select(XComModel.value).where(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
        )
    return value  # the column is JSON: the task's return value as it was


TRIGGERER_ON_A_CLOCK = (
    "import sys, time_machine\n"
    "time_machine.travel(sys.argv[1], tick=True).start()\n"
    "sys.argv = ['airflow', 'triggerer', '--skip-serve-logs', '--capacity', '4']\n"
    "from airflow.__main__ import main\n"
    "main()\n"
)


def window_config(pipeline_env) -> tuple[str, str]:
    """`Sat 01:00-05:00` in Europe/Berlin, or in a zone where the real clock is outside it."""
    from datetime import UTC, datetime

    from include.workflow.window import Window

    now = datetime.now(UTC)
    tz = next(
        z
        for z in ("Europe/Berlin", "America/New_York")
        if Window.parse("Sat 01:00-05:00", z).opening(now) > now
    )
    config = yaml.safe_load(pipeline_env["config"].read_text())
    config["promotion"]["test_to_prod"]["scheduled_window"] = "Sat 01:00-05:00"
    config["promotion"]["test_to_prod"]["timezone"] = tz
    pipeline_env["config"].write_text(yaml.safe_dump(config))
    return "Sat 01:00-05:00", tz


class WindowWatcher(Approvers):
    """Approves, then waits for wait_for_window to be deferred (recording the pool and the trigger),
    then starts a real triggerer whose clock is inside the window."""

    def __init__(self, clients, answers, clock: str, log: Path):
        super().__init__(clients, DAG, {"approve": answers})
        self.clock, self.log = clock, log
        self.deferred: dict = {}
        self.triggerer: subprocess.Popen | None = None

    def _loop(self) -> None:
        import os
        import sys
        import time

        super()._loop()  # both approvals answered
        api = self.clients["alice"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self._stop.is_set():
            runs = api._request("GET", f"/api/v2/dags/{DAG}/dagRuns?state=running")["dag_runs"]
            if runs:
                ti = api.task_instance(DAG, runs[0]["dag_run_id"], "wait_for_window")
                if ti["state"] == "deferred":
                    pool = api._request("GET", "/api/v2/pools/default_pool")
                    self.deferred = {"ti": ti, "pool": pool}
                    break
            time.sleep(0.5)
        else:
            self.errors.append("wait_for_window never deferred")
            return
        out = self.log.open("w")
        self.triggerer = subprocess.Popen(
            [sys.executable, "-c", TRIGGERER_ON_A_CLOCK, self.clock],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )

    def __exit__(self, *exc) -> None:
        self._thread.join(timeout=120)
        if self.triggerer:
            self.triggerer.terminate()
            self.triggerer.wait(timeout=30)


def test_outside_the_window_defers_then_publishes_when_the_clock_is_inside(
    promotion_dag, airflow_api, pipeline_env, tmp_path
):
    """Approved on a weekday: wait_for_window is deferred (no worker slot, a trigger for Saturday
    01:00 local time); a real triggerer on a clock inside the window lets it publish."""
    import os
    from datetime import UTC, datetime, timedelta

    from include.workflow.window import Window

    window, tz = window_config(pipeline_env)
    opening = Window.parse(window, tz).opening(datetime.now(UTC))
    inside = (opening + timedelta(minutes=30)).isoformat()
    os.environ["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"{airflow_api.base_url}/execution/"
    before = json.loads((production(pipeline_env) / "CURRENT").read_text())["version"]
    with WindowWatcher(
        users(airflow_api),
        [("alice", "Approve", ""), ("bob", "Approve", "")],
        inside,
        tmp_path / "triggerer.log",
    ) as watcher:
        run = promotion_dag[DAG].test(run_conf={}, use_executor=True)
    states = task_states_of(run)
    assert watcher.deferred, (watcher.errors, states, (tmp_path / "triggerer.log").read_text()[-2000:])
    pool = watcher.deferred["pool"]
    assert pool["running_slots"] == 0 and pool["deferred_slots"] == 1  # waits without a worker slot
    assert datetime.fromisoformat(xcom(run, "window_opening")) == opening  # Saturday 01:00 local time
    assert str(run.state) == "success", (
        states,
        watcher.errors,
        (tmp_path / "triggerer.log").read_text()[-3000:],
    )
    assert json.loads((production(pipeline_env) / "CURRENT").read_text())["version"] == "v2" != before
