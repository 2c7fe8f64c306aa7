"""Converts an integrated library (.IntLib): its PcbLibs to footprints, its SchLibs to symbols.

An IntLib is a compound file whose `PCBLib/` and `SchLib/` storages hold whole PcbLib/SchLib
compound files as streams: a leading byte 0x02 means zlib-compressed data follows, 0x00 raw data.
Footprints are converted first so the symbols' Footprint fields can name `Nick:Footprint`.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from .run import ConversionRun, ConvertedLibrary


class IntLibError(Exception):
    """An embedded library stream cannot be unpacked."""


def unpack_stream(data: bytes, name: str) -> bytes:
    """The compound file held in one IntLib stream."""
    if not data:
        raise IntLibError(f"{name}: empty stream")
    flag, body = data[0], data[1:]
    if flag == 0x02:
        try:
            return zlib.decompress(body)
        except zlib.error as exc:
            raise IntLibError(f"{name}: damaged compressed stream ({exc})") from exc
    if flag == 0x00:
        return body
    raise IntLibError(f"{name}: unknown stream marker 0x{flag:02x}")


def embedded_libraries(
    data: bytes, source: str
) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]], list[str]]:
    """(PcbLib streams, SchLib streams, problems) of an IntLib's bytes."""
    from .altium.compound import CompoundFile

    cf = CompoundFile(data, source)
    pcb: list[tuple[str, bytes]] = []
    sch: list[tuple[str, bytes]] = []
    problems: list[str] = []
    for path in sorted(cf.streams()):
        if len(path) != 2 or path[0].casefold() not in ("pcblib", "schlib"):
            continue
        label = f"{source}/{'/'.join(path)}"
        try:
            unpacked = unpack_stream(cf.read(*path), label)
        except IntLibError as exc:
            problems.append(str(exc))
            continue
        (pcb if path[0].casefold() == "pcblib" else sch).append((label, unpacked))
    return pcb, sch, problems


def _stem(base: str, index: int, count: int) -> str:
    return base if count == 1 else f"{base}_{index + 1}"


def planned_nicknames(path: Path) -> list[tuple[str, str]]:
    """The (kind, stem) of every nickname `convert_intlib` claims, in its order: a parallel run
    hands them out before the conversion starts, so names never depend on which worker is first."""
    from .altium.compound import NotAnAltiumLibrary

    try:
        pcb, sch, _ = embedded_libraries(path.read_bytes(), str(path))
    except (NotAnAltiumLibrary, OSError):
        return []
    return [("footprints", _stem(path.stem, i, len(pcb))) for i in range(len(pcb))] + [
        ("symbols", _stem(path.stem, i, len(sch))) for i in range(len(sch))
    ]


def convert_intlib(run: ConversionRun, path: Path) -> list[ConvertedLibrary]:
    from .altium.compound import NotAnAltiumLibrary
    from .altium.pcblib import PcbLibError, read_pcblib_data
    from .footprints_job import write_footprint_library

    try:
        pcb, sch, problems = embedded_libraries(path.read_bytes(), str(path))
    except (NotAnAltiumLibrary, OSError) as exc:
        run.fail_library(path, "library", str(exc))
        return []
    for problem in problems:
        run.fail_library(path, "library", problem)
    if not pcb and not sch:
        if not problems:  # damaged streams were reported above; "holds none" would be wrong
            run.fail_library(path, "library", "integrated library holds no SchLib or PcbLib")
        return []
    converted: list[ConvertedLibrary] = []
    footprints: list[ConvertedLibrary] = []
    for i, (label, data) in enumerate(pcb):
        try:
            library = read_pcblib_data(data, label)
        except PcbLibError as exc:
            run.fail_library(path, "library", str(exc))
            continue
        lib = write_footprint_library(run, library, path, _stem(path.stem, i, len(pcb)))
        footprints.append(lib)
        converted.append(lib)

    def footprint_lookup(_symbol, implementation) -> str:
        for lib in footprints:
            item = lib.lookup(implementation.name)
            if item:
                return f"{lib.nickname}:{item}"
        return ""

    if sch:
        from .altium.schlib import read_schlib_data
        from .symbols_job import write_symbol_library

        for i, (label, data) in enumerate(sch):
            try:
                symbols = read_schlib_data(data, label)
            except NotAnAltiumLibrary as exc:
                run.fail_library(path, "library", str(exc))
                continue
            converted.append(
                write_symbol_library(
                    run, symbols, path, _stem(path.stem, i, len(sch)), footprint_lookup=footprint_lookup
                )
            )
    return converted
