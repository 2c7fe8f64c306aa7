"""Mutation testing: plant one small bug at a time in the code and see whether the fast tests notice.

    python -m scripts.mutation_test                       # default targets, 20-minute budget
    python -m scripts.mutation_test --budget 600 --seed 3 converters/kicad/layers.py
    python -m scripts.mutation_test --max-per-file 15 --report var/mutation/report.json

Why our own and not mutmut: mutmut 3 rewrites every function into a trampoline inside a `mutants/`
copy and needs its own configuration; this is ~200 lines on `ast`, plants exactly one mutant per
run in a scratch copy of the repository and runs the ordinary pytest on it, so a killed mutant
means a real test failed on real code. Not part of CI (it takes minutes to hours).

Mutants: comparison operators swapped (== for !=, < for >=, in for not in, is for is not),
arithmetic and bit operators swapped (+ -, * /, & |, << >>), `and`/`or` swapped, `not` and unary
minus removed, integer constants + 1, True/False swapped. Strings, docstrings, f-strings and
annotations are left alone (messages are not behaviour the gates check).

Each mutant runs only the fast tests (no ../shared, no KiCad: `-m "not corpus and not kicad and
not slow"`) that cover its file's package, stopping at the first failure. Outcomes: killed (a test
failed), survived (all passed), timeout (counted as killed: the mutant hangs the code), and the
summary line `mutants: N, killed: K, survived: S, timeout: T` is printed and written to the report.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TARGETS = ["converters/altium", "converters/kicad", "include/quality_gates.py"]
FAST = "not corpus and not kicad and not slow"
# Which fast tests cover which code (a file's package decides).
TESTS_FOR = {
    "converters/": ["tests/converters"],
    "include/quality_gates.py": [
        "tests/include/test_quality_gates.py",
        "tests/include/test_gate_expectations.py",
        "tests/include/test_gate_frames.py",
    ],
}
COPIED = ["converters", "include", "tests", "expectations", "config", "pyproject.toml", "dags", "plugins"]

_COMPARE_SWAP = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_BINOP_SWAP = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
}


@dataclass
class Mutant:
    path: str  # repository-relative
    index: int  # the n-th mutation site of the file
    line: int
    description: str
    outcome: str = ""  # killed, survived, timeout
    seconds: float = 0.0


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes never mutated: docstrings, f-string parts, annotations."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                skip |= {id(n) for n in ast.walk(body[0])}
        if isinstance(node, ast.JoinedStr):
            skip |= {id(n) for n in ast.walk(node)}
        for annotation in (getattr(node, "annotation", None), getattr(node, "returns", None)):
            if annotation is not None:
                skip |= {id(n) for n in ast.walk(annotation)}
    return skip


def _sites(tree: ast.AST) -> list[tuple[ast.AST, str, int]]:
    """(node, what the mutation does, line) for every place one mutation can go, in a fixed order."""
    skip = _skipped_nodes(tree)
    sites = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in _COMPARE_SWAP:
                    swap = _COMPARE_SWAP[type(op)]
                    sites.append((node, f"compare {i}: {type(op).__name__} -> {swap.__name__}", line))
        elif isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in _BINOP_SWAP:
            sites.append((node, f"{type(node.op).__name__} -> {_BINOP_SWAP[type(node.op)].__name__}", line))
        elif isinstance(node, ast.BoolOp):
            sites.append(
                (node, f"{type(node.op).__name__} -> {'Or' if isinstance(node.op, ast.And) else 'And'}", line)
            )
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
            sites.append((node, f"drop {type(node.op).__name__}", line))
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            sites.append((node, f"{node.value} -> {not node.value}", line))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            sites.append((node, f"{node.value} -> {node.value + 1}", line))
    return sites


class _Replace(ast.NodeTransformer):
    """Applies the mutation of one site (found by identity in a deep copy's walk order)."""

    def __init__(self, target: ast.AST, description: str) -> None:
        self.target, self.description = target, description

    def generic_visit(self, node: ast.AST) -> ast.AST:
        node = super().generic_visit(node)
        if node is not self.target:
            return node
        if isinstance(node, ast.Compare):
            i = int(self.description.split()[1].rstrip(":"))
            node.ops[i] = _COMPARE_SWAP[type(node.ops[i])]()
        elif isinstance(node, ast.BinOp | ast.AugAssign):
            node.op = _BINOP_SWAP[type(node.op)]()
        elif isinstance(node, ast.BoolOp):
            node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        elif isinstance(node, ast.UnaryOp):
            return node.operand
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            node.value = not node.value
        elif isinstance(node, ast.Constant):
            node.value = node.value + 1
        return node


def mutated_source(source: str, index: int) -> tuple[str, str, int]:
    """The module's text with mutation site `index` applied; its description and line."""
    tree = copy.deepcopy(ast.parse(source))
    node, description, line = _sites(tree)[index]
    tree = _Replace(node, description).visit(tree)
    ast.fix_missing_locations(tree)
    return ast.unparse(tree) + "\n", description, line


def target_files(targets: list[str]) -> list[str]:
    files = []
    for target in targets:
        path = REPO / target
        found = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        files += [str(p.relative_to(REPO)) for p in found if p.name != "__init__.py"]
    return files


def tests_for(path: str) -> list[str]:
    return next(tests for prefix, tests in TESTS_FOR.items() if path.startswith(prefix))


def run_tests(workdir: Path, tests: list[str], timeout: float, deselect: list[str]) -> str:
    env = os.environ | {
        "PYTHONPATH": str(workdir),
        "ALTIUM2KICAD_SHARED": str(workdir / "no-shared"),  # fast tests only: the corpus is absent
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", FAST, *tests]
    command += [arg for test in deselect for arg in ("--deselect", test)]
    try:
        result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if result.returncode == 0 else "killed"


def plan(files: list[str], seed: int, max_per_file: int | None) -> list[Mutant]:
    """Every file's sites (or a seeded sample of them), interleaved so a budget spreads over files."""
    rng = random.Random(seed)
    per_file = []
    for path in files:
        sites = _sites(ast.parse((REPO / path).read_text(encoding="utf-8")))
        chosen = list(range(len(sites)))
        rng.shuffle(chosen)
        if max_per_file is not None:
            chosen = chosen[:max_per_file]
        per_file.append([Mutant(path, i, sites[i][2], sites[i][1]) for i in chosen])
    order = []
    while any(per_file):
        for mutants in per_file:
            if mutants:
                order.append(mutants.pop(0))
    return order


def survivors(report: Path) -> list[Mutant]:
    """The survivors of an earlier report, found again in today's code (same file, line, change)."""
    found = []
    for row in json.loads(report.read_text(encoding="utf-8"))["mutants"]:
        if row["outcome"] != "survived":
            continue
        sites = _sites(ast.parse((REPO / row["path"]).read_text(encoding="utf-8")))
        # the code may have moved: the same change on the same line, else the nearest such line
        same = [
            (abs(line - row["line"]), i)
            for i, (_, description, line) in enumerate(sites)
            if description == row["description"]
        ]
        if not same:
            print(f"gone     {row['path']}:{row['line']} {row['description']}")
            continue
        _, index = min(same)
        found.append(Mutant(row["path"], index, sites[index][2], row["description"]))
    return found


def summary_line(mutants: list[Mutant]) -> str:
    count = {k: sum(m.outcome == k for m in mutants) for k in ("killed", "survived", "timeout")}
    done = sum(count.values())
    score = (count["killed"] + count["timeout"]) / done if done else 0.0
    return (
        f"mutants: {done}, killed: {count['killed']}, survived: {count['survived']}, "
        f"timeout: {count['timeout']}, score: {score:.1%}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=DEFAULT_TARGETS, help="files or folders to mutate")
    parser.add_argument("--budget", type=float, default=1200, help="seconds to spend (default 1200)")
    parser.add_argument("--max-per-file", type=int, default=None, help="sample at most N sites per file")
    parser.add_argument("--seed", type=int, default=14, help="sampling seed (same seed, same mutants)")
    parser.add_argument("--report", type=Path, default=REPO / "var" / "mutation" / "report.json")
    parser.add_argument(
        "--recheck", type=Path, default=None, help="re-run only the survivors of an earlier report"
    )
    parser.add_argument(
        "--deselect", action="append", default=[], help="a test id to leave out (one that fails unmutated)"
    )
    args = parser.parse_args(argv)

    if args.recheck is not None:
        mutants = survivors(args.recheck)
        files = sorted({m.path for m in mutants})
    else:
        files = target_files(args.targets)
        mutants = plan(files, args.seed, args.max_per_file)
    print(f"{len(mutants)} mutants planned in {len(files)} files; budget {args.budget:.0f} s", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="a2k_mutants_") as scratch:
        workdir = Path(scratch)
        for name in COPIED:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, workdir / name, ignore=shutil.ignore_patterns("__pycache__"))
            elif source.exists():
                shutil.copy2(source, workdir / name)
        baselines = {}
        for tests in {tuple(tests_for(f)) for f in files}:
            t0 = time.monotonic()
            if run_tests(workdir, list(tests), 900, args.deselect) != "survived":
                print(f"the unmutated code fails {' '.join(tests)}: fix that first", file=sys.stderr)
                return 2
            baselines[tests] = time.monotonic() - t0
        print("baseline: " + ", ".join(f"{' '.join(t)} {s:.1f} s" for t, s in baselines.items()), flush=True)
        for mutant in mutants:
            if time.monotonic() - started > args.budget:
                break
            original = (REPO / mutant.path).read_text(encoding="utf-8")
            text, _, _ = mutated_source(original, mutant.index)
            target = workdir / mutant.path
            target.write_text(text, encoding="utf-8")
            t0 = time.monotonic()
            tests = tests_for(mutant.path)
            mutant.outcome = run_tests(workdir, tests, max(60.0, 4 * baselines[tuple(tests)]), args.deselect)
            mutant.seconds = round(time.monotonic() - t0, 1)
            target.write_text(original, encoding="utf-8")
            print(f"{mutant.outcome:8} {mutant.path}:{mutant.line} {mutant.description}", flush=True)
    done = [m for m in mutants if m.outcome]
    line = summary_line(done)
    print(line)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(
        json.dumps(
            {
                "summary": line,
                "targets": args.targets,
                "seed": args.seed,
                "planned": len(mutants),
                "seconds": round(time.monotonic() - started),
                "mutants": [asdict(m) for m in done],
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    for m in done:
        if m.outcome == "survived":
            print(f"survived: {m.path}:{m.line} {m.description}")
    print(f"report: {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
