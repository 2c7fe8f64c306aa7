"""The demo's (and the benchmark's) warm-up of dag.test()'s in-process Execution API.

dag.test() builds that API at its first task's first request, Cadwyn generating the routes of
every API version then (about 5 s, charged to the first task). include.airflow_api.warm_dag_test_api
builds it while the api-server starts; this checks that it built the very instance dag.test() uses,
routes included, and that a failed warm-up is reported instead of raised.
"""

from __future__ import annotations


def test_the_warm_up_builds_the_api_dag_test_uses_with_its_routes(airflow_api):
    from airflow.sdk.execution_time import supervisor

    from include.airflow_api import warm_dag_test_api

    assert airflow_api.warm_up.error is None, repr(airflow_api.warm_up.error)  # the fixture's own
    # a fresh instance: an earlier dag.test() in this process may have built the cached one itself
    supervisor.in_process_api_server.cache_clear()
    warming = warm_dag_test_api()
    warming.join(timeout=300)
    assert not warming.is_alive()
    assert warming.error is None, repr(warming.error)
    api = supervisor.in_process_api_server()  # Airflow's cached instance: what dag.test() talks to
    assert api._app is not None, "the app was left for the first task to build"
    # the expensive part happens at the first request: Cadwyn's versioned routes
    assert api.app._cadwyn_initialized, "the versioned routes were left for the first task to build"
    assert any(getattr(r, "path", "") == "/health" for r in api.app.routes)


def test_a_failed_warm_up_is_reported_not_raised(monkeypatch):
    from airflow.sdk.execution_time import supervisor

    from include.airflow_api import warm_dag_test_api

    def broken():
        raise RuntimeError("no metadata database")

    monkeypatch.setattr(supervisor, "in_process_api_server", broken)
    warming = warm_dag_test_api()
    warming.join(timeout=60)
    assert isinstance(warming.error, RuntimeError) and "no metadata database" in str(warming.error)
