"""kicad.sql_identifiers: SQL names that fit PostgreSQL (63 bytes), MySQL/MariaDB (64 BMP
characters, case- and accent-blind column names) and SQLite, deterministic and unique."""

from __future__ import annotations

import re

from converters.kicad.sql_identifiers import MAX_IDENTIFIER_BYTES, IdentifierScope, shortened

LONG = "Postgres_Altium_Library_-_altium_library_Capacitors - Ceramic - Multilayer"


def _fits(name: str) -> bool:
    return len(name.encode("utf-8")) <= MAX_IDENTIFIER_BYTES


def test_a_name_that_fits_is_kept():
    scope = IdentifierScope()
    assert scope.claim("Manufacturer Part Number") == "Manufacturer Part Number"
    assert scope.claim("x" * MAX_IDENTIFIER_BYTES) == "x" * MAX_IDENTIFIER_BYTES
    assert scope.renamed == []


def test_a_long_name_is_cut_with_a_hash_the_same_on_every_run():
    first, second = IdentifierScope().claim(LONG), IdentifierScope().claim(LONG)
    assert first == second and _fits(first) and len(first.encode()) >= MAX_IDENTIFIER_BYTES - 1
    assert re.fullmatch(re.escape(LONG[:40]) + r".*_[0-9a-f]{8}", first)


def test_names_differing_only_after_the_limit_stay_apart():
    scope = IdentifierScope()
    a, b = scope.claim(LONG + " - Series A"), scope.claim(LONG + " - Series B")
    assert a != b and _fits(a) and _fits(b)
    assert [(r.original, r.written) for r in scope.renamed] == [
        (LONG + " - Series A", a),
        (LONG + " - Series B", b),
    ]
    assert all("longer than 63 bytes" in r.reason for r in scope.renamed)


def test_length_counts_utf8_bytes_and_never_splits_a_character():
    greek = "Ρεύμα διαρροής στους εκατόν πενήντα βαθμούς Κελσίου"  # 51 characters, 96 bytes
    name = IdentifierScope().claim(greek)
    assert _fits(name) and name != greek
    assert greek.startswith(name[: -len("_12345678")])
    for cut in range(60, 64):  # every cut position lands on a character boundary
        assert shortened("é" * 40, max_bytes=cut).encode("utf-8").decode("utf-8")


def test_names_a_server_takes_for_one_are_made_unique():
    scope = IdentifierScope()
    assert scope.claim("Value") == "Value"
    assert scope.claim("VALUE") == "VALUE_2"  # PostgreSQL would keep both, MySQL not
    assert scope.claim("Résistance") == "Résistance"
    assert scope.claim("Resistance") == "Resistance_2"  # MySQL compares column names accent-blind
    assert "used twice" in scope.renamed[0].reason


def test_a_unique_long_name_and_a_clash_of_shortened_names():
    scope = IdentifierScope()
    taken = scope.claim(LONG)
    assert scope.claim(taken) != taken  # a source name equal to an earlier short form
    again = scope.claim(LONG.upper())  # cut differently, but must not fold onto the first
    assert again.casefold() != taken.casefold() and _fits(again)
    long_twice = IdentifierScope()
    one, two = long_twice.claim(LONG), long_twice.claim(LONG)
    assert one != two and _fits(two)


def test_characters_servers_refuse_are_replaced():
    scope = IdentifierScope()
    assert scope.claim("Val\x00ue") == "Value"
    assert scope.claim("Rating 🔥") == "Rating _"  # MySQL identifiers are BMP only
    assert scope.claim("Trailing  ") == "Trailing"  # MySQL refuses a trailing space
    assert scope.claim("   ") == "unnamed"
    assert all("refuses" in r.reason for r in scope.renamed)
