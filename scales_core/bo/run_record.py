r"""Run records: one append-only JSONL file per BO run, written as the run goes.

Record types, one JSON object per line:

* ``header`` (first line): task, method and its parameters, run parameters, seed,
  git commit, command line, creation time
  (:func:`scales_core.provenance.provenance` plus the task and method).
* ``init``: the initial labelled set (strings, objective values, latents) and the
  early-stopping threshold, if any.
* ``oracle``: one per black-box call, written (flushed and fsynced) right after
  the call: latent, decoded string, objective (``null`` when invalid), validity,
  reason, ScaLES value, acquisition value, step, index within the step, method,
  seed.
* ``step``: wall-clock split of a completed BO step (not needed to resume).
* ``done``: the run finished.

A finished run is compacted (:mod:`~scales_core.bo.compaction`) into
``<run file name>.gz``; :func:`read_run` and :func:`stored_run_path` find either.

A killed run leaves at most one partial last line; :class:`RunRecord` drops it
when it reopens the file (a file that does not start with a header record is
never modified). Floats are written with ``repr`` precision, so float64 latents
read back bit for bit. The GP parameters of the latest fit live beside the record
(:mod:`~scales_core.bo.gp_state`).

One writer at a time: :class:`RunRecord` holds an exclusive ``fcntl.flock`` on
``<run file name>.lock`` while it is open (the kernel releases it when the
process dies), and a second writer fails with :class:`RunLockedError`.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from .init_store import load_init_latents

__all__ = [
    "HEADER_KEYS",
    "HEADER_START",
    "ORACLE_FIELDS",
    "RunData",
    "RunFileWarning",
    "RunLockedError",
    "clean_record",
    "compacted_path",
    "header_differences",
    "lock_path",
    "not_a_run_error",
    "read_lines",
    "read_run",
    "stored_run_path",
]

logger = logging.getLogger(__name__)

#: Header fields that must agree for a file to be resumed.
HEADER_KEYS = ("task", "method", "method_config", "parameters", "problem", "seed")

#: Nested fields that may differ: where a run computes, not what (a run started on
#: the CPU may be continued on a GPU; files written before the field existed lack it).
FREE_FIELDS = frozenset({"parameters.device"})


class RunLockedError(RuntimeError):
    """Another process holds the lock of a run file (it is writing that run)."""


class RunFileWarning(UserWarning):
    """A side file of a run was unusable and has been discarded."""


def lock_path(run_path: str | os.PathLike) -> Path:
    """The lock file of a run: ``<run file name>.lock`` in the same folder."""
    run_path = Path(run_path)
    return run_path.with_name(run_path.name + ".lock")


def header_differences(stored: dict, requested: dict) -> list[str]:
    r"""The :data:`HEADER_KEYS` on which two run headers differ, as readable lines.

    Nested dicts (``parameters``, ``problem``, ``method_config``) are compared
    field by field, so a line names e.g. ``parameters.q``.

    Args:
        stored: The header of the existing file.
        requested: The header of the run being asked for.

    Returns:
        One ``"field: stored X, requested Y"`` line per differing field (empty
        when the headers agree).
    """
    stored, requested = clean_record(stored), clean_record(requested)
    lines: list[str] = []

    def walk(prefix: str, old, new) -> None:
        if prefix in FREE_FIELDS:
            return
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                walk(f"{prefix}.{key}", old.get(key), new.get(key))
        elif old != new:
            lines.append(f"{prefix}: stored {old!r}, requested {new!r}")

    for key in HEADER_KEYS:
        walk(key, stored.get(key), requested.get(key))
    return lines


def clean_record(value):
    """JSON-safe copy: NaN/inf -> None, tuples -> lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean_record(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_record(v) for v in value]
    return value


@dataclass
class RunData:
    r"""The parsed content of a run file.

    Attributes:
        header: The header record.
        init: The ``init`` record, or ``None``.
        oracle: ``oracle`` records in file order.
        steps: ``step`` records in file order.
        done: The ``done`` record, or ``None``.
        source: The file it was read from (``None`` for a run kept in memory).
    """

    header: dict
    init: dict | None = None
    oracle: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    done: dict | None = None
    source: Path | None = None

    def init_latents(self):
        r"""The `n x d` initial latents (a float64 array).

        Inline or from the :class:`~scales_core.bo.init_store.InitStore` file the
        record names; ``None`` without an ``init`` record.
        """
        return None if self.init is None else load_init_latents(self.init, self.source)

    def calls(self, step: int) -> dict[int, dict]:
        """Oracle records of ``step`` by index within the step."""
        return {r["index"]: r for r in self.oracle if r["step"] == step}

    def add(self, record: dict) -> None:
        """File a non-header record under ``init``, ``oracle``, ``steps`` or ``done``.

        Raises:
            ValueError: for a header record or an unknown record type.
        """
        kind = record.get("type")
        if kind == "header":
            raise ValueError("a second header record")
        if kind == "init":
            self.init = record
        elif kind == "oracle":
            self.oracle.append(record)
        elif kind == "step":
            self.steps.append(record)
        elif kind == "done":
            self.done = record
        else:
            raise ValueError(f"unknown record type {kind!r}")


#: How every header line starts (``json.dumps`` of ``{"type": "header", ...}``).
#: How every run record file begins (a file that does not is never written to).
HEADER_START = b'{"type": "header"'


def not_a_run_error(path: Path, what: str) -> ValueError:
    """The error for a file that is not a run record (``what``: why not)."""
    return ValueError(
        f"{path} is not a BO run record ({what}); it was left unchanged. Point the "
        "run at another file, or move this one away if it is not needed."
    )


def read_lines(path: Path) -> tuple[list[dict], int]:
    """Complete records and the byte length of the complete lines.

    A ``.gz`` path is read through gzip (lengths are then of the decompressed text).

    Raises:
        ValueError: when the first line is not a header record, or a later
            complete line is not a JSON object.
    """
    records, good = [], 0
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            for number, line in enumerate(fh, start=1):
                if not _read_line(path, line, number, records, good):
                    break
                good += len(line)
    except (EOFError, OSError, zlib.error) as error:  # a truncated or non-gzip .gz
        raise ValueError(f"{path}: not a readable gzip file ({error})") from None
    return records, good


#: Fields every oracle record holds (their absence names the file and line), besides
#: ``latent`` or, in a slim record (:mod:`~scales_core.bo.slim`), ``latent_norm``.
ORACLE_FIELDS = ("step", "index", "string", "objective", "valid", "scales")


def _read_line(path: Path, line: bytes, number: int, records: list, good: int) -> bool:
    """Parse one line into ``records``; ``False`` at a partial last line."""
    if not line.endswith(b"\n"):
        return False  # partial line of a killed writer
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        if not records:
            raise not_a_run_error(path, "the first line is not JSON") from None
        raise ValueError(
            f"{path}, line {number}: corrupt record after byte {good}: {error}; "
            "the file was left unchanged (cut it before that byte to resume the run)"
        ) from None
    if not records and (not isinstance(record, dict) or record.get("type") != "header"):
        raise not_a_run_error(path, "the first line is not a header record")
    if not isinstance(record, dict):
        raise ValueError(
            f"{path}, line {number}: corrupt record after byte {good} (not a "
            "JSON object)"
        )
    records.append(record)
    return True


def compacted_path(path: str | os.PathLike) -> Path:
    """The compacted file of a run: ``<run file name>.gz`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".gz")


def stored_run_path(path: str | os.PathLike) -> Path | None:
    """The file that holds run ``path`` (``.jsonl``): its compacted file, itself, or ``None``."""
    path = Path(path)
    for candidate in (compacted_path(path), path):
        if candidate.exists() and candidate.stat().st_size > 0:
            return candidate
    return None


def read_run(path: str | os.PathLike, complete_oracle: bool = False) -> RunData:
    r"""Parse a run file (a partial last line is ignored).

    ``path`` may be the ``.jsonl`` or its compacted ``.gz``; a ``.jsonl`` that was
    compacted is read from its ``.gz``.

    Args:
        path: The run file.
        complete_oracle: Require every field of ``ORACLE_FIELDS`` in each oracle
            record (the results readers do).

    Raises:
        ValueError: when the file is empty, lacks a header, has a corrupt line, is
            not a readable gzip file, or (with ``complete_oracle``) has an oracle
            record without one of the fields; the message names the file and
            the line.
    """
    path = Path(path)
    if path.suffix != ".gz" and not path.exists() and compacted_path(path).exists():
        path = compacted_path(path)
    records, _ = read_lines(path)
    if not records:
        raise not_a_run_error(Path(path), "no complete header line")
    data = RunData(header=records[0], source=path)
    for line, record in enumerate(records[1:], start=2):
        if complete_oracle and record.get("type") == "oracle":
            missing = [k for k in ORACLE_FIELDS if k not in record]
            if "latent" not in record and "latent_norm" not in record:
                missing.append("latent")
            if missing:
                raise ValueError(
                    f"{path}, line {line}: oracle record without {missing}"
                )
        data.add(record)
    return data
