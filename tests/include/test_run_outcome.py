"""A run's final state from crafted task states, answers and gate rows; total_components from the
analysis' audit row in a real library database (the DAG tests run the callback itself)."""

from __future__ import annotations

from dataclasses import dataclass, field

from include.library_db.store import LibraryStore
from include.metrics import compute
from include.run_outcome import Answer, RunFacts, decide, gate_reasons, total_components

ORDER = [
    "preparation.analyze_source_library",
    "preparation.setup_validation_criteria",
    "migration.review_test_results",
    "validation.validate_footprints",
    "validation.validate_migration",
    "deployment.user_acceptance_testing",
    "deployment.deploy_to_production",
]


@dataclass
class Gate:
    gate: str
    success: bool
    summary: dict = field(default_factory=dict)


FOOTPRINTS = Gate(
    "conversion_results.footprints",
    False,
    {
        "expectations": [
            {"success": True, "notes": "fine", "failed_count": 0, "failed_items": []},
            {"success": False, "notes": "written", "failed_count": 1, "failed_items": ["Fuses/FUSE BLADE"]},
            {
                "success": False,
                "warning_only": True,
                "notes": "a warning",
                "failed_count": 2,
                "failed_items": [],
            },
        ]
    },
)


def _states(**changed: str) -> dict[str, str]:
    states = {t: "success" for t in ORDER}
    for short, state in changed.items():
        states[next(t for t in ORDER if t.endswith(short))] = state
    return states


def test_a_failed_gate_names_its_task_and_reason():
    facts = RunFacts(_states(validate_footprints="failed", deploy_to_production="upstream_failed"))
    outcome = decide(False, "failed", "", "testing", facts, [Gate("symbols", True), FOOTPRINTS])
    assert outcome.status == "failed" and outcome.tasks == ["validation.validate_footprints"]
    assert outcome.headline == (
        "failed at validate_footprints: gate conversion_results.footprints: written: 1 items (Fuses/FUSE BLADE)"
    )


def test_failures_are_named_in_the_dags_order():
    facts = RunFacts(_states(validate_migration="failed", validate_footprints="failed"))
    assert decide(False, "failed", "", "testing", facts, [FOOTPRINTS]).headline.startswith(
        "failed at validate_footprints, validate_migration: "
    )


def test_a_broken_task_is_not_blamed_on_a_gate():
    facts = RunFacts(_states(analyze_source_library="failed"))
    outcome = decide(False, "running", "", "development", facts, [FOOTPRINTS])
    assert outcome.headline == (
        "failed at analyze_source_library: task analyze_source_library raised an error (see its log)"
    )


def test_a_rejection_names_the_reviewer_and_the_reason():
    facts = RunFacts(
        _states(validate_footprints="skipped", deploy_to_production="skipped"),
        [
            Answer("migration.review_test_results", "Reject", "reviewer", "pads mirrored"),
        ],
    )
    outcome = decide(True, "running", "", "development", facts, [])
    assert outcome.status == "rejected" and outcome.actor == "reviewer"
    assert outcome.headline == "rejected by reviewer at review_test_results: pads mirrored"
    # a rejection that fails a checking task is still a rejection, not a failure
    failing = RunFacts(_states(review_test_results="failed"), facts.answers)
    assert decide(False, "running", "", "development", failing, []).status == "rejected"


def test_approved_and_deployed():
    facts = RunFacts(_states(), [Answer("migration.review_test_results", "Approve", "reviewer")])
    outcome = decide(True, "deployed", "run_42", "development", facts, [])
    assert (outcome.status, outcome.headline) == ("deployed", "deployed to development (version run_42)")


def test_gate_reasons_skip_passing_gates_and_warnings():
    kicad = Gate("kicad_load.footprints", False, {"messages": ["R.pretty: cannot load"]})
    assert gate_reasons([Gate("symbols", True), FOOTPRINTS, kicad]) == [
        "gate conversion_results.footprints: written: 1 items (Fuses/FUSE BLADE)",
        "gate kicad_load.footprints: R.pretty: cannot load",
    ]


def test_total_components_from_the_analysis(tmp_path):
    store = LibraryStore(f"sqlite:///{tmp_path}/lib.db")
    store.start_run("r1", "full_library_migration", "/src", "development", "basic", str(tmp_path))
    assert total_components(store, "r1") == 0  # the analysis never ran
    counts = {"library": 2, "symbol": 4, "footprint": 3, "part": 600, "model": 1}
    store.audit("r1", "airflow", "analysis", {"counts": counts})
    assert total_components(store, "r1") == 608
    figures = compute([], None, total=total_components(store, "r1"))
    assert figures["total_components"] == (608.0, "items")
    assert figures["components_migrated"] == (0.0, "items")


def test_an_approval_whose_every_slot_failed_is_unanswered():
    from include.run_outcome import unanswered_approvals

    check = "migration.check_review_test_results"
    timed_out = _states(review_test_results="failed") | {check: "upstream_failed"}
    assert unanswered_approvals(timed_out) == ["migration.review_test_results"]
    # one slot answered: the check ran and recorded the outcome itself
    assert unanswered_approvals(timed_out | {check: "failed"}) == []
    # never asked (an earlier task failed): not an approval nobody answered
    never_asked = _states(review_test_results="upstream_failed") | {check: "upstream_failed"}
    assert unanswered_approvals(never_asked) == []
    refusal = {"task": "migration.review_test_results", "reason": "technical_review: nobody answered"}
    outcome = decide(False, "running", "", "development", RunFacts(timed_out), [], refusal)
    assert (outcome.status, outcome.headline) == (
        "rejected",
        "rejected at review_test_results: technical_review: nobody answered",
    )
