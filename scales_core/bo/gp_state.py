r"""The GP side file of a run (``<run file name>.gp.pt``).

It holds the parameters of the latest fit, for an exact warm start after a resume; a
corrupt one is discarded with a warning and the fits are replayed from the run record.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import Tensor

from .._files import describe_error
from .run_record import RunFileWarning

__all__ = ["GPStateFile", "gp_state_path"]


def gp_state_path(run_path: str | os.PathLike) -> Path:
    """The GP side file of a run: ``<run file name>.gp.pt`` in the same folder.

    Built from the whole file name (``ga_0.5`` -> ``ga_0.5.gp.pt``), so runs whose
    names differ only after a dot never share a side file.
    """
    run_path = Path(run_path)
    return run_path.with_name(run_path.name + ".gp.pt")


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
