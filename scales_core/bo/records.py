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

A finished run is compacted (:func:`compact_run`) into ``<run file name>.gz``:
the same records, gzipped, with latents rounded to float32 (about 5x smaller; a
finished run is never resumed, so nothing needs its float64 bits), written to a
temporary file and renamed into place before the ``.jsonl``, its lock and its GP
side file are removed. :func:`read_run` and :func:`stored_run_path` find either.

A killed run leaves at most one partial last line; :class:`RunRecord` drops it
when it reopens the file (a file that does not start with a header record is
never modified). Floats are written with ``repr`` precision, so float64 latents
read back bit for bit. :class:`GPStateFile` keeps the GP parameters of the latest
fit beside the record (``<run file name>.gp.pt``), for an exact warm start after a
resume; a corrupt one is discarded with a warning and the fits are replayed.

One writer at a time: :class:`RunRecord` holds an exclusive ``fcntl.flock`` on
``<run file name>.lock`` while it is open (the kernel releases it when the
process dies), and a second writer fails with :class:`RunLockedError`.
"""

from __future__ import annotations

import fcntl
import gzip
import zlib
import json
import logging
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from .._files import describe_error
from .init_store import load_init_latents

__all__ = [
    "GPStateFile",
    "compact_run",
    "compacted_path",
    "stored_run_path",
    "HEADER_KEYS",
    "RunData",
    "RunFileWarning",
    "RunLockedError",
    "RunRecord",
    "gp_state_path",
    "header_differences",
    "lock_path",
    "read_run",
    "remove_leftover",
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


def gp_state_path(run_path: str | os.PathLike) -> Path:
    """The GP side file of a run: ``<run file name>.gp.pt`` in the same folder.

    Built from the whole file name (``ga_0.5`` -> ``ga_0.5.gp.pt``), so runs whose
    names differ only after a dot never share a side file.
    """
    run_path = Path(run_path)
    return run_path.with_name(run_path.name + ".gp.pt")


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
    stored, requested = _clean(stored), _clean(requested)
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
        source: The file it was read from (``None`` for a run kept in memory).
    """

    header: dict
    init: dict | None = None
    oracle: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    done: dict | None = None
    source: Path | None = None

    def init_latents(self):
        r"""The `n x d` initial latents (a float64 array), inline or from the
        :class:`~scales_core.bo.init_store.InitStore` file the record names;
        ``None`` without an ``init`` record."""
        return None if self.init is None else load_init_latents(self.init, self.source)

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


#: How every header line starts (``json.dumps`` of ``{"type": "header", ...}``).
_HEADER_START = b'{"type": "header"'


def _not_a_run(path: Path, what: str) -> ValueError:
    return ValueError(
        f"{path} is not a BO run record ({what}); it was left unchanged. Point the "
        "run at another file, or move this one away if it is not needed."
    )


def _read_lines(path: Path) -> tuple[list[dict], int]:
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
            raise _not_a_run(path, "the first line is not JSON") from None
        raise ValueError(
            f"{path}, line {number}: corrupt record after byte {good}: {error}; "
            "the file was left unchanged (cut it before that byte to resume the run)"
        ) from None
    if not records and (
        not isinstance(record, dict) or record.get("type") != "header"
    ):
        raise _not_a_run(path, "the first line is not a header record")
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


def _float32_text(value: float) -> float:
    """``value`` rounded to float32, as the shortest decimal that reads back to it."""
    import numpy as np

    return float(str(np.float32(value)))


def _compact_record(record: dict, path: Path, store) -> dict:
    if record.get("type") == "oracle" and record.get("latent") is not None:
        return {**record, "latent": [_float32_text(x) for x in record["latent"]]}
    if record.get("type") == "init" and record.get("latents") is not None and store:
        X = torch.tensor(record["latents"], dtype=torch.float64)
        file, sha = store.put_latents(X)
        out = {k: v for k, v in record.items() if k != "latents"}
        ref = os.path.relpath(file, path.parent)
        return {**out, "latents_file": ref, "latents_sha256": sha}
    if record.get("type") == "init" and record.get("latents") is not None:
        latents = [[_float32_text(x) for x in row] for row in record["latents"]]
        return {**record, "latents": latents}
    if record.get("type") == "header":
        return {**record, "compacted": {"latents": "float32", "format": "gzip"}}
    return record


def remove_leftover(path: str | os.PathLike) -> bool:
    """Delete a run's ``.jsonl`` (and side files) when its compacted file exists.

    A kill between the rename of the compacted file and the removal of the
    ``.jsonl`` in :func:`compact_run` leaves both; the ``.gz`` is complete (it is
    renamed into place only when written), so the ``.jsonl`` is a leftover.

    Returns:
        Whether anything was removed.
    """
    path = Path(path)
    if not (path.exists() and compacted_path(path).exists()):
        return False
    logger.info("removing %s: its compacted run %s exists", path, compacted_path(path))
    for leftover in (path, gp_state_path(path)):
        leftover.unlink(missing_ok=True)
    return True


def write_gzip_records(out: Path, records) -> None:
    """Write records as gzipped JSON lines to ``out``, atomically: a temporary file beside
    it, synced, then renamed into place (a kill leaves the old file or the new one)."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=9, mtime=0) as fh:
            for record in records:
                fh.write((json.dumps(record, allow_nan=False) + "\n").encode("utf-8"))
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(tmp, out)


def compact_run(path: str | os.PathLike, store=None) -> Path:
    r"""Replace a finished run's ``.jsonl`` by ``<name>.gz`` (float32 latents).

    The compacted file is written beside it under a temporary name, synced and
    renamed into place; only then are the ``.jsonl``, its lock file and its GP
    side file removed, so a kill at any point leaves a readable run. Every other
    field is kept as written.

    Args:
        path: The run's ``.jsonl`` file.
        store: An :class:`~scales_core.bo.init_store.InitStore`: the initial
            latents go there (shared by the runs of the same initial set) and
            the ``init`` record names the file; ``None`` keeps them inline.

    Returns:
        The compacted file's path.

    Raises:
        ValueError: when the run has no ``done`` record (an unfinished run stays
            resumable), or the file is not a run record.
    """
    path = Path(path)
    out = compacted_path(path)
    if not path.exists() and out.exists():
        return out  # compacted before
    records, _ = _read_lines(path)
    if not records or records[-1].get("type") != "done":
        raise ValueError(f"{path}: the run is not finished (no done record); not compacted")
    write_gzip_records(out, (_compact_record(record, path, store) for record in records))
    for leftover in (path, lock_path(path), gp_state_path(path)):
        leftover.unlink(missing_ok=True)
    return out


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
    records, _ = _read_lines(path)
    if not records:
        raise _not_a_run(Path(path), "no complete header line")
    data = RunData(header=records[0], source=path)
    for line, record in enumerate(records[1:], start=2):
        if complete_oracle and record.get("type") == "oracle":
            missing = [k for k in ORACLE_FIELDS if k not in record]
            if "latent" not in record and "latent_norm" not in record:
                missing.append("latent")
            if missing:
                raise ValueError(f"{path}, line {line}: oracle record without {missing}")
        data.add(record)
    return data


class _RunLock:
    """An exclusive, non-blocking ``fcntl.flock`` on ``<run>.lock``."""

    def __init__(self, run_path: Path) -> None:
        self.path = lock_path(run_path)
        self._fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.seek(0)
            holder = self._fh.read().strip() or "unknown"
            self._fh.close()
            raise RunLockedError(
                f"{run_path} is being written by another process (pid {holder} "
                f"holds {self.path}); two writers would duplicate every oracle "
                "call. Wait for that run to finish or stop it (the lock is "
                "released when its process exits), or write to another file."
            ) from None
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(f"{os.getpid()}\n")
        self._fh.flush()

    def release(self) -> None:
        """Unlock (idempotent); the lock file itself stays."""
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class RunRecord:
    r"""Open a run file for appending, creating it or resuming it.

    Args:
        path: The ``.jsonl`` file (parent folders are created); ``None`` keeps the
            records in memory only.
        header: The header to write, or to check against an existing file's header
            on the :data:`HEADER_KEYS` (a different commit only warns).

    While open, the record holds an exclusive lock on ``<run file name>.lock``
    (released by :meth:`close` or when the process dies).

    Raises:
        RunLockedError: when another process is writing the same run.
        ValueError: when an existing file was written with other parameters, or
            is not a run record (such a file is never modified).
    """

    def __init__(self, path: str | os.PathLike | None, header: dict) -> None:
        header = _clean({"type": "header", **header})
        self.path = None if path is None else Path(path)
        self._fh = None
        self._lock = None
        if self.path is None:
            self.data = RunData(header=header)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _RunLock(self.path)
        try:
            self._open(header)
        except BaseException:
            self.close()
            raise

    def _open(self, header: dict) -> None:
        """Resume (check, drop a partial last line) or create the file; lock held."""
        size = self.path.stat().st_size if self.path.exists() else 0
        if size > 0:
            records, good = _read_lines(self.path)
            if not records:
                with open(self.path, "rb") as fh:
                    head = fh.read(len(_HEADER_START))
                if head != _HEADER_START:
                    raise _not_a_run(self.path, "no complete header line")
                logger.warning("%s: dropping a partial header line", self.path)
                os.truncate(self.path, 0)
                size = 0
            elif size > good:
                logger.warning("%s: dropping a partial last record", self.path)
                os.truncate(self.path, good)
        if size > 0:
            self.data = read_run(self.path)
            self._check(self.data.header, header)
        else:
            self.data = RunData(header=header)
            self._append(header)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def _check(self, old: dict, new: dict) -> None:
        diff = header_differences(old, new)
        if diff:
            raise ValueError(
                f"{self.path} was written by a different run ("
                + "; ".join(diff)
                + "). Resume it with the stored settings, or give this run "
                "another file."
            )
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
        """Close the file handle and release the lock."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> RunRecord:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class GPStateFile:
    r"""The GP parameters of the latest fit, ``(step, state)``, replaced atomically.

    Args:
        run_path: The run record; the state goes to :func:`gp_state_path`
            (``<run file name>.gp.pt``) and names the run it belongs to. ``None``
            keeps it in memory.
    """

    def __init__(self, run_path: str | os.PathLike | None) -> None:
        self.run_name = None if run_path is None else Path(run_path).name
        self.path = None if run_path is None else gp_state_path(run_path)
        self._memory: tuple[int, dict[str, Tensor]] | None = None

    def save(self, step: int, state: dict[str, Tensor]) -> None:
        """Store the state fitted at ``step`` (write a temporary file, then rename)."""
        self._memory = (step, state)
        if self.path is not None:
            tmp = self.path.with_name(self.path.name + ".tmp")
            torch.save({"step": step, "state": state, "run": self.run_name}, tmp)
            os.replace(tmp, self.path)

    def load(self) -> tuple[int, dict[str, Tensor]] | None:
        """The latest ``(step, state)``, or ``None``.

        A file that cannot be read, is not a GP state or belongs to another run is
        deleted with a :class:`RunFileWarning`; the caller then replays the fits.
        """
        if self.path is None or not self.path.exists():
            return self._memory
        try:
            blob = torch.load(self.path, map_location="cpu", weights_only=True)
            problem = _gp_blob_problem(blob, self.run_name)
        except Exception as error:  # noqa: BLE001 - any unreadable file is discarded
            problem = f"it cannot be read ({describe_error(error)})"
        if problem is not None:
            warnings.warn(
                f"discarding the GP side file {self.path}: {problem}; the GP fits "
                "of the run will be replayed from its records",
                RunFileWarning,
                stacklevel=2,
            )
            self.path.unlink(missing_ok=True)
            return None
        return int(blob["step"]), blob["state"]


def _gp_blob_problem(blob, run_name: str | None) -> str | None:
    """Why a loaded side file is unusable, or ``None``."""
    if not isinstance(blob, dict) or not {"step", "state"} <= set(blob):
        return "it is not a GP state file (no step and state)"
    step, state = blob["step"], blob["state"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        return f"its step {step!r} is not an int >= 0"
    if not isinstance(state, dict) or not all(
        isinstance(v, Tensor) for v in state.values()
    ):
        return "its state is not a dict of tensors"
    if blob.get("run") != run_name:
        return f"it belongs to run file {blob.get('run')!r}, not {run_name!r}"
    return None
