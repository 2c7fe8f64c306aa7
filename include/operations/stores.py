"""Where backup objects live: a local folder or an S3-compatible bucket, behind one small interface."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from include.config import Target


class StoreError(Exception):
    pass


POINTERS = ("CURRENT", "current.json")  # the live-version pointer of a folder / of a bucket


@dataclass
class LocalStore:
    root: Path
    pointer = "CURRENT"

    @property
    def name(self) -> str:
        return str(self.root)

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        tmp.write_bytes(data)
        tmp.replace(path)

    def get(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"{self.name}: no object {key}") from None

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.exists():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".partial")
        )

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def reachable(self) -> bool:
        """The folder is there and readable (a vanished mount is down, not empty)."""
        return os.access(self.root, os.R_OK | os.X_OK)


@dataclass
class S3Store:
    client: Any  # a boto3 S3 client (boto3 ships no type information)
    bucket: str
    prefix: str = ""
    pointer = "current.json"

    @property
    def name(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, key: str) -> str:
        return f"{self.prefix.strip('/')}/{key}" if self.prefix.strip("/") else key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise StoreError(f"{self.name}: no object {key}") from None

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError:
            return False

    def list(self, prefix: str) -> list[str]:
        strip = len(self._key(""))
        keys = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix)
        ):
            keys += [o["Key"][strip:] for o in page.get("Contents", [])]
        return sorted(keys)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def reachable(self) -> bool:
        """The endpoint answers for the bucket (HEAD bucket)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return True
        except Exception:  # connection refused, timeout, no such bucket: not usable for reads
            return False


@dataclass
class FailoverStore:
    """Reads from the first reachable store (an environment's primary, then its secondary).

    A store that answers "no such object" is believed (StoreError passes through); one that cannot
    be reached, or fails mid-read, is left out for the rest of this reader's life and the next
    store answers. Read-only: writes go through include.deployment, to both stores.
    """

    stores: list
    _down: set = field(default_factory=set)

    @property
    def name(self) -> str:
        return " | ".join(s.name for s in self.stores)

    def _read(self, op: str, *args):
        problems = []
        for n, store in enumerate(self.stores):
            if n in self._down:
                continue
            if not store.reachable():
                self._down.add(n)
                problems.append(f"{store.name}: not reachable")
                continue
            if args and args[0] in POINTERS:  # each kind of store names its pointer its own way
                args = (store.pointer, *args[1:])
            try:
                return getattr(store, op)(*args)
            except StoreError:
                raise
            except Exception as exc:  # the store went away mid-read: the next one answers
                self._down.add(n)
                problems.append(f"{store.name}: {exc}")
        raise StoreError(f"{op}{args}: no store could answer ({'; '.join(problems) or 'all down'})")

    def get(self, key: str) -> bytes:
        return self._read("get", key)

    def exists(self, key: str) -> bool:
        return self._read("exists", key)

    def list(self, prefix: str) -> list[str]:
        return self._read("list", prefix)

    def reachable(self) -> bool:
        return any(s.reachable() for n, s in enumerate(self.stores) if n not in self._down)


def open_store(target: Target, resolve_path: Callable[[str], Path]) -> LocalStore | S3Store:
    """A store from a configured Target (the same shape as a deployment target)."""
    if target.kind == "local":
        assert target.path is not None  # Target's validator requires it of a local target
        return LocalStore(resolve_path(target.path))
    from include.deployment import s3_client

    assert target.bucket is not None  # Target's validator requires it of an s3 target
    return S3Store(s3_client(target), target.bucket, target.prefix)


def open_reader(target, secondary, resolve_path) -> LocalStore | S3Store | FailoverStore:
    """The store to read an environment's live version from: its target, or failover to secondary."""
    if secondary is None:
        return open_store(target, resolve_path)
    return FailoverStore([open_store(target, resolve_path), open_store(secondary, resolve_path)])
