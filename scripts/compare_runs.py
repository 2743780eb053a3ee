"""Whether two sweep folders hold the same runs, record by record.

Compares every ``<task>/<method>/seed<k>.jsonl.gz`` of folder A with the same file of
folder B, ignoring what only says how or when a run was produced: the header's
``commit``, ``created`` and ``command``, and wall-clock fields (``*_s``). The shared
initial-latent files (``_init/``) are compared byte for byte. A behaviour-preserving
change of the code must leave these identical (issue 31). Writes a JSON summary with
``--json``.

    python scripts/compare_runs.py /tmp/before /tmp/after --json results/refactor_identity.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

from scales_core.provenance import provenance, write_json

IGNORED_HEADER = ("commit", "created", "command")


def _records(path: Path) -> list[dict]:
    """The JSON records of a compacted run file."""
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh]


def _comparable(record: dict) -> dict:
    """A record without provenance and wall-clock fields."""
    out = {k: v for k, v in record.items() if not k.endswith("_s")}
    if out.get("type") == "header":
        for key in IGNORED_HEADER:
            out.pop(key, None)
    return out


def compare(a: Path, b: Path) -> dict[str, str]:
    """File (relative to ``a``) -> ``"identical"`` or where it first differs."""
    found = {}
    for path in sorted(a.rglob("*.jsonl.gz")):
        rel = path.relative_to(a)
        if not (b / rel).exists():
            found[str(rel)] = "missing in B"
            continue
        old, new = map(_records, (path, b / rel))
        verdict = (
            "identical" if len(old) == len(new) else f"{len(old)} vs {len(new)} records"
        )
        for line, (x, y) in enumerate(zip(old, new), start=1):
            x, y = _comparable(x), _comparable(y)
            if x != y:
                keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
                verdict = f"line {line} ({x.get('type')}) differs in {keys}"
                break
        found[str(rel)] = verdict
    for path in sorted(a.rglob("_init/*")):
        rel = path.relative_to(a)
        same = (b / rel).exists() and path.read_bytes() == (b / rel).read_bytes()
        found[str(rel)] = "identical" if same else "different bytes"
    return found


def main(argv: list[str] | None = None) -> int:
    """Compare two sweep folders; exit status 1 if any file differs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("a", type=Path, help="the sweep folder before")
    parser.add_argument("b", type=Path, help="the sweep folder after")
    parser.add_argument(
        "--json", type=Path, default=None, help="write the verdicts here"
    )
    parser.add_argument(
        "--describe", default="", help="how A and B were made (stored in the JSON)"
    )
    args = parser.parse_args(argv)
    found = compare(args.a, args.b)
    for rel, verdict in found.items():
        print(f"{rel}: {verdict}")
    if args.json is not None:
        write_json(
            args.json,
            provenance(
                {"a": str(args.a), "b": str(args.b), "describe": args.describe}, None
            ),
            files=found,
        )
    return 0 if found and all(v == "identical" for v in found.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
