"""STEP files written the same way every time: entity numbers in a canonical order.

OpenCascade numbers the entities of a STEP file in the order it walks its internal maps, some
keyed on memory addresses (the colour styles), and numbers assembly occurrences with a counter
that runs on across files. The same bodies therefore give files that differ between runs,
which breaks byte-identical re-runs and the conversion cache. This renumbers the DATA section
by content: every entity gets a digest of its own text with its references replaced by their
digests, and entities are numbered in a depth-first walk from the roots in digest order, each
after everything it references. Two isomorphic files become the same bytes.
"""

from __future__ import annotations

import hashlib
import re

_ENTITY = re.compile(r"#(\d+)\s*=\s*(.*?);\s*$", re.S)
_REF = re.compile(r"#(\d+)")
_OCCURRENCE_ID = re.compile(r"(NEXT_ASSEMBLY_USAGE_OCCURRENCE\(')(\d+)(')")


def _split_entities(data: str) -> list[tuple[int, str]]:
    """(number, body) of each `#n = ...;` record; records may span lines, strings may hold ';'."""
    records, current, in_string = [], [], False
    for ch in data:
        current.append(ch)
        if ch == "'":
            in_string = not in_string
        elif ch == ";" and not in_string:
            text = "".join(current).strip()
            current = []
            match = _ENTITY.match(text)
            if match:
                records.append((int(match.group(1)), " ".join(match.group(2).split())))
    return records


def canonical_step(step: bytes) -> bytes:
    """The same STEP file with its DATA entities renumbered canonically (header kept)."""
    text = step.decode("latin-1")
    start = text.find("DATA;")
    end = text.find("ENDSEC;", start)
    if start < 0 or end < 0:
        return step
    counter = iter(range(1, 1 << 30))
    data = _OCCURRENCE_ID.sub(lambda m: f"{m.group(1)}{next(counter)}{m.group(3)}", text[start + 5 : end])
    entities = dict(_split_entities(data))
    digests: dict[int, str] = {}

    def digest(number: int, visiting: frozenset[int] = frozenset()) -> str:
        if number in digests:
            return digests[number]
        if number in visiting or number not in entities:  # a cycle or a dangling reference
            return f"@{number}"
        body = _REF.sub(lambda m: "#" + digest(int(m.group(1)), visiting | {number}), entities[number])
        digests[number] = hashlib.sha1(body.encode()).hexdigest()
        return digests[number]

    for number in entities:
        digest(number)
    refs = {n: [int(r) for r in _REF.findall(body)] for n, body in entities.items()}
    parents: dict[int, set[int]] = {n: set() for n in entities}
    for n, children in refs.items():
        for c in children:
            if c in parents:
                parents[c].add(n)
    # Identical sub-graphs (two equal solids) are told apart by who refers to them (a product
    # with its own name): each entity's context digest folds in its referrers', and the roots
    # are ordered by what their references' contexts are.
    context: dict[int, str] = {}
    waiting = {n: len(ps) for n, ps in parents.items()}
    ready = [n for n, count in waiting.items() if count == 0]
    while ready:  # top-down (Kahn's order): an entity after all that refer to it
        n = ready.pop()
        above = sorted(context[p] for p in parents[n] if p in context)
        context[n] = hashlib.sha1((digests[n] + "|" + ",".join(above)).encode()).hexdigest()
        for c in refs[n]:
            if c in waiting:
                waiting[c] -= 1
                if waiting[c] == 0:
                    ready.append(c)
    for n in entities:  # inside a reference cycle: content alone
        context.setdefault(n, digests[n])

    def root_key(number: int) -> tuple[str, str, int]:
        seen = ",".join(context[c] for c in refs[number] if c in entities)
        return digests[number], hashlib.sha1(seen.encode()).hexdigest(), number

    referenced = {c for children in refs.values() for c in children}
    roots = sorted((n for n in entities if n not in referenced), key=root_key)
    renumber: dict[int, int] = {}
    order: list[int] = []

    def visit(number: int) -> None:
        stack = [(number, False)]
        while stack:
            n, children_done = stack.pop()
            if n in renumber or n not in entities:
                continue
            if children_done:
                renumber[n] = len(order) + 1
                order.append(n)
                continue
            stack.append((n, True))
            for ref in reversed([int(r) for r in _REF.findall(entities[n])]):
                if ref not in renumber:
                    stack.append((ref, False))

    for root in roots:
        visit(root)
    for number in sorted(entities, key=lambda n: (digests[n], n)):  # cycles without a root
        visit(number)
    lines = [
        f"#{renumber[n]} = "
        + _REF.sub(lambda m: f"#{renumber.get(int(m.group(1)), m.group(1))}", entities[n])
        + ";"
        for n in order
    ]
    out = text[: start + 5] + "\n" + "\n".join(lines) + "\n" + text[end:]
    return out.encode("latin-1")
