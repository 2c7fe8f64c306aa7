"""A real OpenLDAP server (Debian's slapd) for tests: own config and database in a temporary folder.

Started as this test's own process on a free loopback port, never touching the system's slapd
configuration; the `memberof` overlay maintains `memberOf` on users as FAB's LDAP login expects.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
SCHEMAS = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
SUFFIX = "dc=example,dc=com"
ROOT_DN = f"cn=admin,{SUFFIX}"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"


@dataclass(frozen=True)
class LdapServer:
    url: str
    root_dn: str
    root_password: str

    def add(self, ldif: str) -> None:
        """ldapadd as the root DN (ldap-utils), so the memberof overlay sees every group change."""
        done = subprocess.run(
            ["ldapadd", "-x", "-H", self.url, "-D", self.root_dn, "-w", self.root_password],
            input=ldif,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise RuntimeError(f"ldapadd failed ({done.returncode}): {done.stderr.strip()}")


def available() -> bool:
    return SLAPD.exists() and SLAPADD.exists() and shutil.which("ldapadd") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config_ldif(folder: Path, password: str) -> str:
    includes = "\n".join(
        f"include: file://{SCHEMAS / name}.ldif" for name in ("core", "cosine", "inetorgperson")
    )
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {folder / "slapd.pid"}

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {MODULES}
olcModuleLoad: back_mdb
olcModuleLoad: memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{includes}

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcRootDN: {ROOT_DN}
olcRootPW: {password}
olcDbDirectory: {folder / "db"}
olcDbMaxSize: 104857600
olcAccess: {{0}}to attrs=userPassword by anonymous auth by self read by * none
olcAccess: {{1}}to * by * read

dn: olcOverlay={{0}}memberof,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {{0}}memberof
olcMemberOfRefInt: TRUE
"""


@contextmanager
def ldap_server(folder: Path, password: str = "directory-root") -> Iterator[LdapServer]:
    """slapd on a free port with an empty `dc=example,dc=com` (people and groups units); stopped after."""
    config_dir, db_dir = folder / "slapd.d", folder / "db"
    config_dir.mkdir(parents=True)
    db_dir.mkdir()
    ldif = folder / "config.ldif"
    ldif.write_text(_config_ldif(folder, password))
    load = subprocess.run(
        [str(SLAPADD), "-n", "0", "-F", str(config_dir), "-l", str(ldif)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if load.returncode != 0:
        raise RuntimeError(f"slapadd of the test configuration failed: {load.stderr.strip()}")
    port = _free_port()
    url = f"ldap://127.0.0.1:{port}"
    log = (folder / "slapd.log").open("w")
    # -d 0: stay in the foreground, so this process is the server and terminate() stops it.
    process = subprocess.Popen(
        [str(SLAPD), "-d", "0", "-h", url, "-F", str(config_dir)], stdout=log, stderr=subprocess.STDOUT
    )
    server = LdapServer(url, ROOT_DN, password)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"slapd exited ({process.returncode}): {(folder / 'slapd.log').read_text()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"slapd did not listen on {url} within 30 s") from None
                time.sleep(0.1)
        server.add(
            f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n"
            f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n"
            f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n"
        )
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        log.close()


def person_ldif(uid: str, password: str) -> str:
    return (
        f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid.title()}\n"
        f"sn: {uid.title()}\ngivenName: {uid.title()}\nmail: {uid}@example.com\nuserPassword: {password}\n"
    )


def group_ldif(name: str, member_uids: list[str]) -> str:
    members = "\n".join(f"member: uid={uid},{PEOPLE}" for uid in member_uids)
    return f"dn: cn={name},{GROUPS}\nobjectClass: groupOfNames\ncn: {name}\n{members}\n"
