"""The `altium2kicad` command line.

Exit codes: 0 every item converted (warnings allowed), 1 some items failed (all others written),
2 nothing could be read or the usage is wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from . import __version__
from .cache import CACHE_FOLDER_NAME, default_cache_folder
from .convert import convert_paths
from .library_files import UsageError
from .report import ConversionReport
from .run import ConvertOptions

EXIT_OK, EXIT_SOME_FAILED, EXIT_NOTHING_READ = 0, 1, 2
MAX_FAILURES_SHOWN = 20  # the rest are in report.json; a terminal full of rows helps nobody


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="altium2kicad", description="Convert Altium Designer libraries to KiCad."
    )
    parser.add_argument("--version", action="version", version=f"altium2kicad {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    convert = commands.add_parser(
        "convert", help="convert libraries (.SchLib .PcbLib .IntLib .DbLib .SVNDbLib)"
    )
    convert.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="a library file, or a folder searched recursively"
    )
    convert.add_argument("-o", "--output", required=True, type=Path, metavar="OUT", help="output folder")
    convert.add_argument(
        "--kicad-version", type=int, choices=(8, 9), default=9, help="file format to write (default: 9)"
    )
    convert.add_argument("--embed-3d", action="store_true", help="embed 3D models in footprints (KiCad 9)")
    convert.add_argument("--layer-map", type=Path, metavar="FILE", help="layer mapping file (YAML or JSON)")
    convert.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL of a DbLib's parts database, instead of its own connection string",
    )
    convert.add_argument(
        "--svn-checkout", type=Path, metavar="DIR", help="local checkout holding the libraries of a .SVNDbLib"
    )
    convert.add_argument(
        "--output-database-url",
        metavar="URL",
        help="SQLAlchemy URL to write the KiCad parts database to (default: SQLite beside the .kicad_dbl)",
    )
    convert.add_argument(
        "--partitions",
        type=int,
        default=0,
        metavar="N",
        help="PostgreSQL output: one table partitioned by category into N partitions, a view per table",
    )
    convert.add_argument("--partition-method", choices=["list", "hash"], default="list")
    convert.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=default_jobs(),
        metavar="N",
        help=f"libraries converted at once (default: the machine's cores, here {default_jobs()})",
    )
    caching = convert.add_mutually_exclusive_group()
    caching.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help=f"conversion cache folder (default: OUT/{CACHE_FOLDER_NAME}; safe to delete)",
    )
    caching.add_argument("--no-cache", action="store_true", help="convert everything, keep no cache")
    convert.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    sample = commands.add_parser(
        "sample", help="write the project's own sample Altium library (for demos and tests)"
    )
    sample.add_argument("-o", "--output", required=True, type=Path, metavar="DIR")
    sample.add_argument(
        "--dblib",
        action="store_true",
        help="also write SampleParts.DbLib over an Excel parts table (what ./run demo migrates)",
    )
    return parser


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _progress(show: bool):
    if not show or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None

    def wrap(paths: Iterable[Path]):
        bar = tqdm(list(paths), unit="lib", file=sys.stderr, dynamic_ncols=True)
        for path in bar:
            bar.set_postfix_str(path.name[-40:])
            yield path

    return wrap


def exit_code(report: ConversionReport) -> int:
    counts = report.counts()
    if counts["failed"] == 0:
        return EXIT_OK
    if counts["ok"] + counts["warning"] == 0:
        return EXIT_NOTHING_READ
    return EXIT_SOME_FAILED


def run_convert(args: argparse.Namespace) -> int:
    options = ConvertOptions(
        kicad_version=args.kicad_version,
        embed_3d=args.embed_3d,
        layer_map=args.layer_map,
        database_url=args.database_url,
        svn_checkout=args.svn_checkout,
        output_database_url=args.output_database_url,
        parts_partitions=args.partitions,
        partition_method=args.partition_method,
    )
    cache = None if args.no_cache else (args.cache or default_cache_folder(args.output))
    report = convert_paths(
        args.paths, args.output, options, progress=_progress(not args.quiet), cache=cache, jobs=args.jobs
    )
    failed = [row for row in report.items if row.status.value == "failed"]
    for row in failed[:MAX_FAILURES_SHOWN]:
        print(f"FAILED {row.source}: {row.item}: {'; '.join(row.messages)}", file=sys.stderr)
    if len(failed) > MAX_FAILURES_SHOWN:
        print(
            f"... and {len(failed) - MAX_FAILURES_SHOWN} more failed items: see "
            f"{args.output / 'report.json'}",
            file=sys.stderr,
        )
    print(report.summary_line())
    if cache is not None and report.cache_stats:
        reused, converted = report.cache_stats
        print(f"conversion cache {cache}: {reused} libraries unchanged, {converted} converted")
    return exit_code(report)


def run_sample(args: argparse.Namespace) -> int:
    from .fixtures.sample_library import write_sample_library

    paths = write_sample_library(args.output)
    if args.dblib:
        from .fixtures.dblib_writer import write_sample_dblib

        paths.append(write_sample_dblib(args.output))
    for path in paths:
        print(path)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    try:
        if args.command == "convert":
            return run_convert(args)
        return run_sample(args)
    except UsageError as exc:
        print(f"altium2kicad: {exc}", file=sys.stderr)
        return EXIT_NOTHING_READ
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
