r"""Writing a run record: :class:`RunRecord`, one writer at a time.

Each record is one JSON line, flushed and fsynced as soon as it is written; a killed
run leaves at most one partial last line, which :class:`RunRecord` drops when it
reopens the file (a file that does not start with a header record is never
modified). The format and its reader are :mod:`~scales_core.bo.run_record`.

One writer at a time: :class:`RunRecord` holds an exclusive ``fcntl.flock`` on
``<run file name>.lock`` while it is open (the kernel releases it when the process
dies), and a second writer fails with :class:`~scales_core.bo.run_record.RunLockedError`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path

from .run_record import (
    HEADER_START,
    RunData,
    RunLockedError,
    clean_record,
    header_differences,
    lock_path,
    not_a_run_error,
    read_lines,
    read_run,
)

__all__ = ["RunRecord"]

logger = logging.getLogger(__name__)


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
        header = clean_record({"type": "header", **header})
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
            records, good = read_lines(self.path)
            if not records:
                with open(self.path, "rb") as fh:
                    head = fh.read(len(HEADER_START))
                if head != HEADER_START:
                    raise not_a_run_error(self.path, "no complete header line")
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
        record = clean_record(record)
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
