r"""The BO loop of Algorithm 1 with a penalized or early-stopped acquisition optimizer.

Each step ``t``: fit the GP surrogate to the encoded data (warm-started from step
``t - 1``), then choose ``q`` points one after another, each maximizing qLogEI
(Ament et al. 2024) with the points already chosen in this step as ``X_pending``;
decode each point (argmax), call the black box, and write the call to the run
record at once. Invalid points enter the GP data with the lowest value observed
so far (``BOConfig(invalid="lowest")``, the default), or not at all
(``invalid="drop"``, as the published code does with their NaN values).

Resuming: every random choice of step ``t`` is seeded by ``(seed, t, ...)`` (see
:mod:`~scales_core.bo.seeding`), recorded calls are read back instead of being
made again, and the GP parameters of the last fit are kept in a side file
(:class:`~scales_core.bo.gp_state.GPStateFile`) so the warm-start chain continues
exactly (without it the fits are replayed). On CPU with the same thread count, a
resumed run writes bit for bit the oracle records of an uninterrupted one.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import gpytorch
import torch
from tqdm.auto import tqdm

from ..provenance import provenance
from .compaction import compact_run
from .config import BOConfig
from .gp_state import GPStateFile
from .init_store import InitStore
from .methods import MethodConfig, get_method
from .optimize import initialize_from_data
from .problem import Problem
from .run_record import RunData, compacted_path, header_differences, read_run
from .run_writer import RunRecord
from .seeding import derive_generator
from .step import StepRunner
from .surrogate import surrogate_state

__all__ = ["run_bo", "run_header"]

logger = logging.getLogger(__name__)


def run_header(
    task: str,
    method: MethodConfig,
    problem_info: dict,
    config: BOConfig,
    seed: int,
    command: str | None = None,
) -> dict:
    r"""The header line of a run record: what the run is, and how it was produced.

    Its :data:`~scales_core.bo.run_record.HEADER_KEYS` decide whether a stored record
    belongs to a requested run (:func:`~scales_core.bo.run_record.header_differences`).

    Args:
        task: Task name.
        method: The method.
        problem_info: The problem's description (:attr:`Problem.info
            <scales_core.bo.problem.Problem.info>`, or
            :func:`~scales_core.bo.problem.problem_info` before it is built).
        config: Run parameters.
        seed: Run seed.
        command: Command line (default: this process's).

    Returns:
        ``task``, ``method``, ``method_config``, ``problem`` and the
        :func:`~scales_core.provenance.provenance` fields (``parameters``, ``seed``,
        commit, versions, time).
    """
    return {
        "task": task,
        "method": method.name,
        "method_config": method.to_dict(),
        "problem": problem_info,
        **provenance(config.to_dict(), seed, command),
    }


def run_bo(
    problem: Problem,
    method: str | MethodConfig,
    seed: int = 0,
    config: BOConfig | None = None,
    path: str | os.PathLike | None = None,
    progress: bool = True,
    command: str | None = None,
    compact: bool = True,
    init_store: InitStore | str | os.PathLike | None = None,
) -> RunData:
    r"""Run (or resume) one BO run and record every oracle call.

    Args:
        problem: Decoder, black box and initial data (see
            :func:`~scales_core.bo.problem.make_problem`).
        method: A name of :mod:`~scales_core.bo.methods` (e.g. ``"scales_0.5"``).
        seed: Run seed (>= 0); the run is a deterministic function of it.
        config: Run parameters (default :class:`~scales_core.bo.config.BOConfig`).
        path: The run's ``.jsonl`` record; an existing one is resumed. ``None``
            keeps the records in memory.
        progress: Show a tqdm bar over the steps.
        command: Command line for the header (default: this process's).
        compact: Once the run is finished, replace its ``.jsonl`` by the gzipped
            ``.jsonl.gz`` with float32 latents
            (:func:`~scales_core.bo.compaction.compact_run`). A path whose compacted
            file exists is a finished run: its records are returned (after the
            header check) and nothing is run.
        init_store: A folder (or :class:`~scales_core.bo.init_store.InitStore`)
            shared by runs: the compacted run keeps its initial latents there
            instead of inline, and the ScaLES values of the initial latents (an
            early-stopping threshold) are computed once per initial set.

    Returns:
        The records (:class:`~scales_core.bo.run_record.RunData`; latents in float64
        for a run finished by this call, float32-rounded when read back from a
        compacted file).

    Raises:
        ValueError: for an unknown method, bad parameters, or an existing record
            written with other parameters or data.
    """
    method = get_method(method)
    config = BOConfig() if config is None else config
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    if path is not None and str(path).endswith(".gz"):
        raise ValueError(
            f"run path {path} ends in .gz: give the .jsonl path; the finished run is "
            "compacted to <path>.gz next to it"
        )
    if init_store is not None and not isinstance(init_store, InitStore):
        init_store = InitStore(init_store)
    # BO freezes the decoder's weights (latent gradients only); the caller gets
    # them back as they were
    flags = [
        (w, w.requires_grad) for w in getattr(problem.decoder, "parameters", list)()
    ]
    try:
        runner = StepRunner(problem, method, seed, config)
        n = problem.train_X.shape[0]
        if config.q * runner.restarts > n:
            raise ValueError(
                f"q x restarts = {config.q * runner.restarts} start points "
                f"exceed the {n} initial points"
            )
        header = run_header(problem.task, method, problem.info, config, seed, command)
        if (
            path is not None
            and not Path(path).exists()
            and compacted_path(path).exists()
        ):
            stored = read_run(compacted_path(path))
            diff = header_differences(stored.header, header)
            if diff:
                raise ValueError(
                    f"{compacted_path(path)} was written by a different run ("
                    + "; ".join(diff)
                    + "); give this run another file."
                )
            return stored
        cholesky = gpytorch.settings.max_cholesky_size(config.max_cholesky)
        with RunRecord(path, header) as record, cholesky:
            if record.data.init is None:
                record.write(
                    {
                        "type": "init",
                        "strings": problem.strings,
                        "values": problem.train_Y.tolist(),
                        "latents": problem.train_X.tolist(),
                        "threshold": runner.threshold(init_store),
                    }
                )
            else:
                _check_init(record, problem)
            if record.data.done is None:
                _loop(runner, record, GPStateFile(record.path), progress)
            data = record.data
        if path is not None and compact:
            compact_run(path, init_store)
        return data
    finally:
        for w, flag in flags:
            w.requires_grad_(flag)


def _check_init(record: RunRecord, problem: Problem) -> None:
    init = record.data.init
    same = (
        init["strings"] == problem.strings
        and torch.equal(
            torch.tensor(init["values"], dtype=torch.float64), problem.train_Y
        )
        and torch.equal(
            torch.tensor(init["latents"], dtype=torch.float64), problem.train_X
        )
    )
    if not same:
        raise ValueError(f"{record.path}: the initial data differ from this problem's")


def _resume_state(runner, record, data, states, t0) -> tuple[dict | None, ...]:
    """``(warm-start state, already fitted state of step t0)`` to resume at ``t0``."""
    if t0 == 0 or t0 >= runner.config.n_steps:
        return None, None
    logger.info(
        "resuming %s at step %d (%d oracle calls recorded)",
        record.path,
        t0,
        len(record.data.oracle),
    )
    saved = states.load()
    if saved is not None and saved[0] == t0:
        return None, saved[1]
    if saved is not None and saved[0] == t0 - 1:
        return saved[1], None
    logger.warning("no GP state for step %d; replaying %d fits", t0 - 1, t0)
    state = None
    for n in data.sizes:
        state = surrogate_state(runner.fit(data.X[:n], data.Y[:n, None], state))
    return state, None


def _fixed_model(runner: StepRunner, states: GPStateFile):
    """The surrogate of ``refit="never"``: fitted once on the initial data.

    Its parameters are saved as the state of step 0, so a resumed run rebuilds
    the same model instead of fitting again.
    """
    X0, Y0 = runner.problem.train_X, runner.problem.train_Y
    X0, Y0 = X0.to(runner.device), Y0.to(runner.device)[:, None]
    saved = states.load()
    if saved is not None and saved[0] == 0:
        return runner.fit(X0, Y0, saved[1], fit=False)
    model = runner.fit(X0, Y0, None)
    states.save(0, surrogate_state(model))
    return model


def _loop(
    runner: StepRunner, record: RunRecord, states: GPStateFile, progress: bool
) -> None:
    cfg, seed, q = runner.config, runner.seed, runner.config.q
    calls_of = record.data.calls
    data = runner.observations()
    t0 = 0
    while t0 < cfg.n_steps and len(calls_of(t0)) == q:
        data.start_step()
        data.add([calls_of(t0)[j] for j in range(q)])
        t0 += 1
    if any(c["step"] > t0 for c in record.data.oracle):
        raise ValueError(
            f"{record.path}: oracle records after the incomplete step {t0}"
        )
    fixed = None  # refit="never": the initial fit, made in the first step run here
    if cfg.refit != "never":
        state, fitted = _resume_state(runner, record, data, states, t0)
    threshold = record.data.init["threshold"]
    desc = f"{runner.problem.task}/{runner.method.name}/seed{seed}"
    with tqdm(total=cfg.n_steps, initial=t0, desc=desc, disable=not progress) as bar:
        for t in range(t0, cfg.n_steps):
            times = dict(fit_s=0.0, acq_s=0.0, oracle_s=0.0, score_s=0.0)
            X, Y = data.start_step()
            tic = time.perf_counter()
            if cfg.refit == "never":
                if fixed is None:
                    fixed = _fixed_model(runner, states)
                model = fixed
            elif fitted is not None:  # fitted before the interruption
                model, fitted = runner.fit(X, Y, fitted, fit=False), None
                state = surrogate_state(model)
            else:
                model = runner.fit(X, Y, state)
                state = surrogate_state(model)
                states.save(t, state)
            times["fit_s"] = time.perf_counter() - tic
            gen = derive_generator(seed, t, "starts")
            starts = initialize_from_data(X, q * runner.restarts, gen, Y, cfg.start)
            starts = starts.reshape(q, runner.restarts, 1, -1)  # `q x r x 1 x d`
            calls, pending = calls_of(t), []
            for j in range(q):
                if j not in calls:
                    tic = time.perf_counter()
                    z, value, extra = runner.propose(
                        model, Y.max(), pending, starts[j], t, j, threshold
                    )
                    times["acq_s"] += time.perf_counter() - tic
                    out, t_oracle, t_score = runner.oracle(z)
                    times["oracle_s"] += t_oracle
                    times["score_s"] += t_score
                    calls[j] = record.write(
                        {
                            "type": "oracle",
                            "step": t,
                            "index": j,
                            "method": runner.method.name,
                            "seed": seed,
                            "latent": z[0].tolist(),
                            **out,
                            "acq": value,
                            **extra,
                        }
                    )
                pending.append(
                    torch.tensor(
                        [calls[j]["latent"]], dtype=torch.float64, device=runner.device
                    )
                )
            data.add([calls[j] for j in range(q)])
            valid = [c["objective"] for c in record.data.oracle if c["valid"]]
            best = max(valid) if valid else None
            record.write(
                {
                    "type": "step",
                    "step": t,
                    "n_train": int(X.shape[0]),
                    "resumed": t == t0 > 0,
                    "best": best,
                    **times,
                }
            )
            bar.set_postfix(best=best, valid=f"{len(valid)}/{len(record.data.oracle)}")
            bar.update(1)
    record.write({"type": "done", "n_oracle": len(record.data.oracle)})
