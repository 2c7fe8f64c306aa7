"""S3 through the Amazon provider's S3Hook on an Airflow connection, against a real S3-protocol
server (moto's, on localhost): URI and JSON connections, keep_versions on S3, and an outage that
fails the publish (a transient error Airflow retries) until the server is back."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse

import pytest

from include.config import Target
from include.deployment import current_s3, publish, s3_versions
from include.task_policy import PERMANENT

from .test_deployment import _release


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """moto's S3 server on a fixed port, stoppable and restartable (its data lives in-process)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._make = lambda: ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server = None
        self.bucket = f"kicad-libraries-{self.port}"  # moto's data is per process: one bucket per test

    def start(self) -> None:
        self.server = self._make()
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def moto(monkeypatch):
    server = Moto()
    server.start()
    import boto3

    boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="eu-central-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    ).create_bucket(Bucket=server.bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    yield server
    server.stop()


def _uri_connection(monkeypatch, moto, conn_id="libs_s3") -> str:
    extra = urllib.parse.urlencode({"endpoint_url": moto.endpoint, "region_name": "eu-central-1"})
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", f"aws://AKIDURI:secret%2Furi@/?{extra}")
    return conn_id


def _json_connection(monkeypatch, moto, conn_id="libs_s3_json") -> str:
    conn = {
        "conn_type": "aws",
        "login": "AKIDJSON",
        "password": "secret-json",
        "extra": {
            "endpoint_url": moto.endpoint,
            "region_name": "eu-central-1",
            "aws_session_token": "session-token-123",
        },
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id


def _publish(tmp_path, target: Target, version: str, keep: int = 5, attempt: int = 1):
    folder = tmp_path / f"attempt{attempt}"
    folder.mkdir(exist_ok=True)
    return publish(_release(folder, version, f"text {version}"), target, version, keep, lambda p: p)


def test_uri_connection_credentials_region_and_endpoint(tmp_path, monkeypatch, moto):
    from include.deployment import s3_client

    target = Target(
        kind="s3", bucket=moto.bucket, prefix="lib", aws_conn_id=_uri_connection(monkeypatch, moto)
    )
    client = s3_client(target)
    creds = client._request_signer._credentials
    assert (creds.access_key, creds.secret_key) == ("AKIDURI", "secret/uri")
    assert client.meta.region_name == "eu-central-1" and client.meta.endpoint_url == moto.endpoint
    published = _publish(tmp_path, target, "v1")
    assert published.location == f"s3://{moto.bucket}/lib/versions/v1"
    assert current_s3(client, moto.bucket, "lib") == "v1"


def test_json_connection_with_session_token(tmp_path, monkeypatch, moto):
    from include.deployment import s3_client

    target = Target(
        kind="s3", bucket=moto.bucket, prefix="j", aws_conn_id=_json_connection(monkeypatch, moto)
    )
    creds = s3_client(target)._request_signer._credentials
    assert (creds.access_key, creds.token) == ("AKIDJSON", "session-token-123")
    assert _publish(tmp_path, target, "v1").files == 3


def test_target_region_and_endpoint_win(monkeypatch, moto):
    from include.deployment import s3_client

    conn = _uri_connection(monkeypatch, moto)
    target = Target(
        kind="s3", bucket=moto.bucket, region="us-west-2", endpoint_url="http://127.0.0.1:1", aws_conn_id=conn
    )
    client = s3_client(target)
    assert client.meta.region_name == "us-west-2" and client.meta.endpoint_url == "http://127.0.0.1:1"


def test_missing_connection_is_an_error(monkeypatch, moto):
    from include.deployment import s3_client

    with pytest.raises(Exception, match="isn't defined"):
        s3_client(Target(kind="s3", bucket=moto.bucket, aws_conn_id="no_such_connection"))


def test_keep_versions_on_s3(tmp_path, monkeypatch, moto):
    from include.deployment import s3_client

    target = Target(
        kind="s3", bucket=moto.bucket, prefix="keep", aws_conn_id=_uri_connection(monkeypatch, moto)
    )
    for n in range(1, 6):
        _publish(tmp_path, target, f"v{n}", keep=2)
        time.sleep(1.1)  # S3 LastModified has one-second resolution
    client = s3_client(target)
    assert sorted(s3_versions(client, moto.bucket, "keep")) == ["v3", "v4", "v5"]  # live + 2 kept
    assert current_s3(client, moto.bucket, "keep") == "v5"


def test_outage_fails_transiently_then_succeeds(tmp_path, monkeypatch, moto):
    """S3 away: the publish raises an error Airflow retries (not a permanent one), the pointer is
    untouched; S3 back: the same publish succeeds."""
    from include.deployment import s3_client

    target = Target(
        kind="s3", bucket=moto.bucket, prefix="out", aws_conn_id=_uri_connection(monkeypatch, moto)
    )
    _publish(tmp_path, target, "v1")
    moto.stop()
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # botocore's own retries, kept short for the test
    with pytest.raises(Exception) as failure:
        _publish(tmp_path, target, "v2")
    assert not isinstance(failure.value, PERMANENT)
    assert "Could not connect" in str(failure.value) or "Connect" in type(failure.value).__name__
    moto.start()
    assert _publish(tmp_path, target, "v2", attempt=2).previous == "v1"
    assert current_s3(s3_client(target), moto.bucket, "out") == "v2"


def test_role_arn_is_assumed_through_sts(tmp_path, monkeypatch, moto):
    """A connection with `role_arn`: the hook asks STS (moto's, via the extra's service_config) for
    the role's temporary credentials, and the publish signs with those, not the base keys."""
    from include.deployment import s3_client

    role = "arn:aws:iam::123456789012:role/kicad-deployer"
    conn = {
        "conn_type": "aws",
        "login": "AKIDBASE",
        "password": "secret-base",
        "extra": {
            "endpoint_url": moto.endpoint,
            "region_name": "eu-central-1",
            "role_arn": role,
            "assume_role_kwargs": {"RoleSessionName": "altium2kicad"},
            "service_config": {"sts": {"endpoint_url": moto.endpoint}},
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_LIBS_S3_ROLE", json.dumps(conn))
    target = Target(kind="s3", bucket=moto.bucket, prefix="r", aws_conn_id="libs_s3_role")
    client = s3_client(target)
    creds = client._request_signer._credentials.get_frozen_credentials()
    assert creds.access_key != "AKIDBASE" and creds.token  # STS's temporary credentials
    assert _publish(tmp_path, target, "v1").files == 3
    import boto3

    sts = boto3.client(
        "sts",
        endpoint_url=moto.endpoint,
        region_name="eu-central-1",
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
    )
    identity = sts.get_caller_identity()["Arn"]
    assert identity == "arn:aws:sts::123456789012:assumed-role/kicad-deployer/altium2kicad", identity


def test_promotion_source_download_and_rollback_on_s3(tmp_path, monkeypatch, moto):
    """An S3 environment can be promoted from (the version downloaded as it is) and rolled back."""
    from include.deployment import download_s3_version, manifest, rollback, s3_client

    target = Target(
        kind="s3", bucket=moto.bucket, prefix="env", aws_conn_id=_uri_connection(monkeypatch, moto)
    )
    _publish(tmp_path, target, "v1")
    _publish(tmp_path, target, "v2", attempt=2)
    client = s3_client(target)
    local = download_s3_version(client, moto.bucket, "env", "v1", tmp_path / "dl" / "v1")
    assert manifest(local) == manifest(tmp_path / "attempt1" / "release-v1")
    with pytest.raises(FileNotFoundError, match="version v9 not found"):
        download_s3_version(client, moto.bucket, "env", "v9", tmp_path / "dl" / "v9")
    back = rollback(target, lambda p: p)
    assert (back.version, back.previous, current_s3(client, moto.bucket, "env")) == ("v1", "v2", "v1")
