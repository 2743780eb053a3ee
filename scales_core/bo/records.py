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

A killed run leaves at most one partial last line; :class:`RunRecord` drops it
when it reopens the file. Floats are written with ``repr`` precision, so float64
latents read back bit for bit. :class:`GPStateFile` keeps the GP parameters of
the latest fit beside the record (``<run>.gp.pt``), for an exact warm start after
a resume.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

__all__ = ["GPStateFile", "RunRecord", "RunData", "read_run", "HEADER_KEYS"]

logger = logging.getLogger(__name__)

#: Header fields that must agree for a file to be resumed.
HEADER_KEYS = ("task", "method", "method_config", "parameters", "problem", "seed")


def _clean(value):
    """JSON-safe copy: NaN/inf -> None, tuples -> lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
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
    """

    header: dict
    init: dict | None = None
    oracle: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    done: dict | None = None

    def calls(self, step: int) -> dict[int, dict]:
        """Oracle records of ``step`` by index within the step."""
        return {r["index"]: r for r in self.oracle if r["step"] == step}

    def add(self, record: dict) -> None:
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


def _read_lines(path: Path) -> tuple[list[dict], int]:
    """Complete records and the byte length of the complete lines."""
    records, good = [], 0
    with open(path, "rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break  # partial line of a killed writer
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"{path}: corrupt record after byte {good}: {error}"
                ) from None
            good += len(line)
    return records, good


def read_run(path: str | os.PathLike) -> RunData:
    r"""Parse a run file (a partial last line is ignored).

    Raises:
        ValueError: when the file is empty, lacks a header, or has a corrupt line.
    """
    records, _ = _read_lines(Path(path))
    if not records or records[0].get("type") != "header":
        raise ValueError(f"{path} is not a BO run record (no header line)")
    data = RunData(header=records[0])
    for record in records[1:]:
        data.add(record)
    return data


class RunRecord:
    r"""Open a run file for appending, creating it or resuming it.

    Args:
        path: The ``.jsonl`` file (parent folders are created); ``None`` keeps the
            records in memory only.
        header: The header to write, or to check against an existing file's header
            on the :data:`HEADER_KEYS` (a different commit only warns).

    Raises:
        ValueError: when an existing file was written with other parameters.
    """

    def __init__(self, path: str | os.PathLike | None, header: dict) -> None:
        header = _clean({"type": "header", **header})
        self.path = None if path is None else Path(path)
        self._fh = None
        if (
            self.path is not None
            and self.path.exists()
            and self.path.stat().st_size > 0
        ):
            records, good = _read_lines(self.path)
            if self.path.stat().st_size > good:
                logger.warning("%s: dropping a partial last record", self.path)
                os.truncate(self.path, good)
            self.data = read_run(self.path)
            self._check(self.data.header, header)
        else:
            self.data = RunData(header=header)
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._append(header)
        if self.path is not None:
            self._fh = open(self.path, "a", encoding="utf-8")

    def _check(self, old: dict, new: dict) -> None:
        diff = [k for k in HEADER_KEYS if old.get(k) != new.get(k)]
        if diff:
            details = "; ".join(
                f"{k}: file {old.get(k)!r} vs now {new.get(k)!r}" for k in diff
            )
            raise ValueError(f"{self.path} was written by a different run ({details})")
        if old.get("commit") != new.get("commit"):
            logger.warning(
                "%s: resuming a run started at commit %s with commit %s",
                self.path,
                old.get("commit"),
                new.get("commit"),
            )

    def _append(self, record: dict) -> None:
        line = json.dumps(record, allow_nan=False) + "\n"
        if self._fh is None:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            self._fh.write(line)
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def write(self, record: dict) -> dict:
        """Append one record (NaN -> null), flush and fsync; returns what was stored."""
        record = _clean(record)
        if self.path is not None:
            self._append(record)
        self.data.add(record)
        return record

    def close(self) -> None:
        """Close the file handle."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunRecord:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class GPStateFile:
    r"""The GP parameters of the latest fit, ``(step, state)``, replaced atomically.

    Args:
        run_path: The run record; the state goes to ``<run>.gp.pt``. ``None``
            keeps it in memory.
    """

    def __init__(self, run_path: str | os.PathLike | None) -> None:
        self.path = None if run_path is None else Path(run_path).with_suffix(".gp.pt")
        self._memory: tuple[int, dict[str, Tensor]] | None = None

    def save(self, step: int, state: dict[str, Tensor]) -> None:
        """Store the state fitted at ``step`` (write a temporary file, then rename)."""
        self._memory = (step, state)
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            torch.save({"step": step, "state": state}, tmp)
            os.replace(tmp, self.path)

    def load(self) -> tuple[int, dict[str, Tensor]] | None:
        """The latest ``(step, state)``, or ``None``."""
        if self.path is None or not self.path.exists():
            return self._memory
        blob = torch.load(self.path, map_location="cpu", weights_only=True)
        return int(blob["step"]), blob["state"]
