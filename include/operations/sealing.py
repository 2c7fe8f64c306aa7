"""Sealing backup objects: zstd, then AES-256-GCM with the object's name as associated data.

Why authenticated encryption: a truncated, corrupted or tampered object (or one swapped for another
object's bytes) fails to open, so a restore refuses it before anything is overwritten. The key
never travels with the backup: it comes from an environment variable or an Airflow connection.
"""

from __future__ import annotations

import base64
import os

MAGIC = b"A2KB1"
NONCE_BYTES = 12


class BackupIntegrityError(Exception):
    """A backup object failed authentication or its digest does not match the manifest."""


class BackupKeyError(Exception):
    """No usable backup key was found (message lists where we looked)."""


def load_key(key_env: str, key_conn_id: str | None) -> bytes:
    """The 32-byte key: env var (base64) first, then the Airflow connection's password (base64).
    Logs where it looked and where the key came from (never the key)."""
    from include.connections import SettingNotFound, Source, resolve_setting

    sources = [Source(f"env {key_env}", lambda: os.environ.get(key_env))]
    if key_conn_id:
        conn_id = key_conn_id
        sources.append(Source(f"Airflow connection {conn_id}", lambda: _connection_password(conn_id)))
    try:
        value, origin = resolve_setting("backup key", sources)
    except SettingNotFound:
        raise BackupKeyError(
            "no backup key found; looked in: " + ", ".join(source.name for source in sources)
        ) from None
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError:
        raise BackupKeyError(f"backup key from {origin} is not base64") from None
    if len(key) != 32:
        raise BackupKeyError(f"backup key from {origin} is {len(key)} bytes; AES-256 needs 32")
    return key


def _connection_password(conn_id: str) -> str | None:
    env_uri = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    try:
        if env_uri:
            from urllib.parse import unquote, urlsplit

            return unquote(urlsplit(env_uri).password or "")
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(conn_id).password
    except Exception:  # no Airflow or no such connection
        return None


def new_key() -> str:
    """A fresh key, base64 (what `altium2kicad-admin generate-key` prints)."""
    return base64.b64encode(os.urandom(32)).decode()


def seal(plain: bytes, key: bytes, name: str, level: int = 10) -> bytes:
    import zstandard
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    packed = zstandard.ZstdCompressor(level=level).compress(plain)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, packed, name.encode())


def unseal(sealed: bytes, key: bytes, name: str) -> bytes:
    import zstandard
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not sealed.startswith(MAGIC) or len(sealed) < len(MAGIC) + NONCE_BYTES + 16:
        raise BackupIntegrityError(f"{name}: not a sealed backup object (truncated or foreign)")
    nonce = sealed[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    try:
        packed = AESGCM(key).decrypt(nonce, sealed[len(MAGIC) + NONCE_BYTES :], name.encode())
    except InvalidTag:
        raise BackupIntegrityError(
            f"{name}: authentication failed (tampered, corrupted, truncated, or a different key)"
        ) from None
    return zstandard.ZstdDecompressor().decompress(packed, max_output_size=1 << 34)
