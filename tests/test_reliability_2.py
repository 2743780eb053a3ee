"""Second reliability round (issue 30): derivatives, modes, precision, checks up front."""

from __future__ import annotations

import threading

import pytest
import torch
from conftest import MLPDecoder

import scales_core as sc
from scales_core.bo import BOConfig, run_bo


# ------------------------------------------------------------ derivatives


@pytest.mark.parametrize("rows", [13, 30])
def test_second_order_gradients_through_chunks_are_exact(rows):
    dec = MLPDecoder(d=3, L=4, D=5).double().requires_grad_(False)
    z0 = torch.randn(rows, 3, dtype=torch.float64)

    def hessian_column(chunk):
        z = z0.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(sc.ScaLES(dec, chunk_size=chunk)(z).sum(), z, create_graph=True)
        (h,) = torch.autograd.grad(g[:, 0].sum(), z)
        return g.detach(), h

    g_chunked, h_chunked = hessian_column(4)
    g_whole, h_whole = hessian_column(None)
    torch.testing.assert_close(g_chunked, g_whole)
    torch.testing.assert_close(h_chunked, h_whole)


# ------------------------------------------------------------ modes


def test_every_submodule_mode_is_restored():
    dec = MLPDecoder(dropout=0.3).double()
    dec.eval()
    dec.net[2].train()  # MC dropout on one layer only
    z = torch.randn(3, 3, dtype=torch.float64)
    sc.ScaLES(dec)(z)
    sc.reference.published_score(dec, z, "later")
    sc.likelihood_score(dec, z)
    assert not dec.training and dec.net[2].training and not dec.net[0].training


def test_threads_sharing_a_train_mode_decoder_leave_it_in_train_mode():
    dec = MLPDecoder(dropout=0.3).double().train()
    z = torch.randn(4, 3, dtype=torch.float64)
    errors = []

    def work():
        try:
            for _ in range(5):
                sc.ScaLES(dec)(z)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(m.training for m in dec.modules())


def test_run_bo_gives_the_decoder_its_grad_flags_back():
    from test_bo_loop import CONFIG as FAST, toy_problem

    problem = toy_problem()
    problem.decoder.requires_grad_(True)
    run_bo(problem, "scales_0.5", seed=0, config=FAST, progress=False)
    assert all(w.requires_grad for w in problem.decoder.parameters())


# ------------------------------------------------------------ precision


class Half(torch.nn.Module):
    def __init__(self, dtype):
        super().__init__()
        self.inner, self.dtype, self.latent_dim = MLPDecoder(), dtype, 3

    def forward(self, z):
        return self.inner(z.float()).to(self.dtype)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int32])
@pytest.mark.parametrize("jacobian", ["forward", "fd"])
def test_low_precision_logits_are_refused(dtype, jacobian):
    z = torch.randn(2, 3)
    with pytest.raises(ValueError, match="float32 or float64"):
        sc.ScaLES(Half(dtype), jacobian=jacobian)(z)


@pytest.mark.parametrize("jacobian", ["forward", "fd"])
def test_autocast_is_refused(jacobian):
    dec = MLPDecoder()
    z = torch.randn(2, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16), pytest.raises(ValueError, match="autocast"):
        sc.ScaLES(dec, jacobian=jacobian)(z)
    assert sc.ScaLES(dec, jacobian=jacobian)(z).isfinite().all()  # fine outside it


# ------------------------------------------------------------ a decoder's own Jacobian


class OwnJacobian(MLPDecoder):
    def __init__(self, how):
        super().__init__()
        self.how = how

    def logits_and_jacobian(self, z):
        logits, A = sc.logits_and_jacobian(self.net_only, z, "reverse")
        if self.how == "transposed":
            A = A.transpose(1, 2)
        elif self.how == "permuted":
            A = A[:, :, torch.tensor([1, 2, 0])]
        return logits, A

    def net_only(self, z):
        return MLPDecoder.forward(self, z)


def test_own_jacobian_is_checked():
    z = torch.randn(2, 3)
    assert sc.ScaLES(OwnJacobian("right"))(z).isfinite().all()
    with pytest.raises(ValueError, match="shape"):
        sc.ScaLES(OwnJacobian("transposed"))(z)
    with pytest.raises(ValueError, match="finite differences"):
        sc.ScaLES(OwnJacobian("permuted"))(z)


# ------------------------------------------------------------ checked up front


@pytest.mark.parametrize("kwargs", [dict(lr=float("inf")), dict(lr=float("nan")),
                                    dict(half_width=float("inf")), dict(half_width=1e-300),
                                    dict(lr=True)])
def test_bad_step_or_box_is_refused_by_the_config(kwargs):
    with pytest.raises(ValueError, match="lr|half_width"):
        BOConfig(**kwargs)


def test_a_gz_run_path_is_refused_before_running(tmp_path):
    from test_bo_loop import CONFIG as FAST, toy_problem

    with pytest.raises(ValueError, match=".gz"):
        run_bo(toy_problem(), "ga", config=FAST, path=tmp_path / "seed0.jsonl.gz", progress=False)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------ run files


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished, compacted toy run: (folder, its .jsonl.gz bytes)."""
    from test_bo_loop import CONFIG, toy_problem

    folder = tmp_path_factory.mktemp("sweep") / "toy" / "ga"
    folder.mkdir(parents=True)
    run_bo(toy_problem(), "ga", seed=0, config=CONFIG, path=folder / "seed0.jsonl", progress=False)
    return folder.parent.parent, (folder / "seed0.jsonl.gz").read_bytes()


def _sweep_with(tmp_path, files: dict[str, bytes]):
    for name, blob in files.items():
        path = tmp_path / "toy" / "ga" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
    return tmp_path


def test_a_killed_compaction_is_read_as_one_run_and_cleaned(tmp_path, finished_run):
    import gzip

    from scales_core.results import load_sweep
    from scales_core.bo.records import remove_leftover

    _, gz = finished_run
    out = _sweep_with(tmp_path, {"seed0.jsonl.gz": gz, "seed0.jsonl": gzip.decompress(gz)})
    frame = load_sweep(out)
    assert frame.groupby(["method", "seed"]).ngroups == 1 and len(frame) == 6
    assert remove_leftover(out / "toy" / "ga" / "seed0.jsonl")
    assert [p.name for p in (out / "toy" / "ga").iterdir()] == ["seed0.jsonl.gz"]


@pytest.mark.parametrize("damage", ["truncated", "not gzip", "no scales"])
def test_an_unreadable_run_file_is_skipped_and_named(tmp_path, finished_run, damage, caplog):
    import gzip
    import json

    from scales_core.results import load_sweep

    _, gz = finished_run
    if damage == "truncated":
        bad = gz[: len(gz) // 2]
    elif damage == "not gzip":
        bad = b"this is not gzip\n"
    else:
        lines = gzip.decompress(gz).decode().splitlines(True)
        i = next(k for k, line in enumerate(lines) if '"type": "oracle"' in line or '"oracle"' in line)
        record = json.loads(lines[i])
        del record["scales"]
        lines[i] = json.dumps(record) + "\n"
        bad = gzip.compress("".join(lines).encode())
    out = _sweep_with(tmp_path, {"seed0.jsonl.gz": gz, "seed1.jsonl.gz": bad})
    frame = load_sweep(out)
    assert set(frame["seed"]) == {0}
    (path, reason), = frame.attrs["skipped"]
    assert path.endswith("seed1.jsonl.gz") and "seed1.jsonl.gz" in caplog.text
    if damage == "no scales":
        assert "line" in reason and "scales" in reason


def test_a_corrupt_init_store_score_is_recomputed(tmp_path):
    from scales_core.bo.init_store import InitStore

    store = InitStore(tmp_path)
    X = torch.randn(4, 2, dtype=torch.float64)
    calls = []

    def score(x):
        calls.append(1)
        return x.sum(-1)

    first = store.scores(X, "s", score)
    (tmp_path / f"{store.key(X)}.s.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.warns(RuntimeWarning, match="cannot be read"):
        again = store.scores(X, "s", score)
    torch.testing.assert_close(first, again)
    assert len(calls) == 2


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(cut=st.floats(0, 1), junk=st.binary(max_size=64), where=st.sampled_from(["cut", "junk", "both"]))
def test_the_run_reader_raises_only_value_errors(tmp_path_factory, finished_run, cut, junk, where):
    import gzip

    from scales_core.results import load_sweep
    from scales_core.bo.records import read_run

    _, gz = finished_run
    text = gzip.decompress(gz)
    blob = text[: int(cut * len(text))] if where != "junk" else text
    if where != "cut":
        blob = blob + junk
    folder = tmp_path_factory.mktemp("h")
    for name, data in (("seed0.jsonl", blob), ("seed1.jsonl.gz", gzip.compress(blob)[: max(1, int(cut * 200))])):
        path = folder / "toy" / "ga" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        try:
            read_run(path, complete_oracle=True)
        except ValueError:
            pass
    load_sweep(folder)  # never raises: unreadable files are skipped and listed


def test_a_nan_objective_for_a_valid_item_is_an_invalid_call(tmp_path):
    import numpy as np
    from test_bo_loop import CONFIG, toy_evaluate, toy_problem

    def flaky(strings):
        values, valid, reasons = toy_evaluate(strings)
        values = np.where(valid, np.nan, values)  # valid, but no value
        return values, valid, reasons

    problem = toy_problem()
    problem.evaluate = flaky
    data = run_bo(problem, "ga", seed=0, config=CONFIG, path=tmp_path / "r.jsonl", progress=False)
    assert data.oracle and not any(r["valid"] for r in data.oracle)
    for r in data.oracle:
        want = "has 'ee'" if "ee" in r["string"] else "black box returned nan"
        assert want in r["reason"]


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_init=1), "initial points"),
    (dict(positions=0), "positions"),
    (dict(checkpoint="nope"), "no checkpoint"),
])
def test_sweep_inputs_every_worker_would_fail_on_are_refused_up_front(tmp_path, kwargs, match):
    from scales_core.sweep import run_sweep

    with pytest.raises(ValueError, match=match):
        run_sweep("expressions", ["ga"], [0], 1, str(tmp_path), processes=False, **kwargs)
    assert not list(tmp_path.iterdir())


def test_sweep_out_that_is_a_file_is_refused(tmp_path):
    from scales_core.sweep import run_sweep

    out = tmp_path / "file"
    out.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        run_sweep("expressions", ["ga"], [0], 1, str(out), processes=False)


def test_a_silent_scheduler_is_a_one_line_error(monkeypatch, tmp_path):
    import time

    from scales_core import sweep

    monkeypatch.setattr(sweep, "SCHEDULER_TIMEOUT_S", 1)
    tic = time.perf_counter()
    with pytest.raises(ValueError, match="no Dask scheduler answered"):
        sweep.run_sweep("expressions", ["ga"], [0], 1, str(tmp_path),
                        scheduler="tcp://127.0.0.1:1")
    assert time.perf_counter() - tic < 15


@pytest.mark.parametrize("params, match", [
    ("n: [1, 2\n", r"ch\.yaml, line \d"),
    ("n: 1\nn: 2\n", r"ch\.yaml, line 2: duplicate key 'n'"),
])
def test_notebook_parameter_file_errors_name_the_file(tmp_path, params, match):
    from test_reliability import _fake_book, _runner

    root = _fake_book(tmp_path, params=params)
    with pytest.raises(ValueError, match=match):
        _runner().plan(root, [], "quick")


def test_a_string_is_not_a_tuple_of_objectives():
    import dataclasses

    from scales_core.datasets import get_dataset

    record = get_dataset("expressions")
    with pytest.raises(ValueError, match=r"objectives must be a tuple.*\('my_task',\)"):
        dataclasses.replace(record, objectives="my_task")
    with pytest.raises(ValueError, match="repeats"):
        dataclasses.replace(record, objectives=("a", "a"))


@pytest.mark.parametrize("n", [1000, 5000])
def test_a_long_flat_expression_is_evaluated(n):
    import numpy as np

    from scales_core.grammar import evaluate_tree, parse_expression
    from scales_core.tasks import is_valid_expression
    from scales_core.tasks.objectives import expression_objective

    text = "+".join(["x"] * n)
    assert is_valid_expression(text)
    x = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(evaluate_tree(parse_expression(text).tree, x), n * x)
    out = expression_objective(text)
    assert np.isfinite(out.value) or out.reason


def test_iterative_evaluation_matches_numpy_on_nested_expressions():
    import numpy as np

    from scales_core.grammar import evaluate_tree, parse_expression

    x = np.linspace(-2, 2, 7)
    for text, want in [("1/3+x+sin(x*x)", 1 / 3 + x + np.sin(x * x)),
                       ("exp(x/2)*(3+x)", np.exp(x / 2) * (3 + x)),
                       ("x/2/3", x / 2 / 3), ("sin(sin(sin(x)))", np.sin(np.sin(np.sin(x))))]:
        np.testing.assert_allclose(evaluate_tree(parse_expression(text).tree, x), want)


@pytest.mark.parametrize("kill", ["mid-run", "inside compaction"])
def test_a_killed_sweep_reads_back_as_an_uninterrupted_one(tmp_path, monkeypatch, kill):
    import random
    from pathlib import Path

    from scales_core.results import load_sweep
    from scales_core.bo.step import StepRunner
    from scales_core.sweep import run_one

    torch.set_num_threads(1)
    kw = dict(n_init=8, q=2, overrides={"ga_steps": 2, "mc_samples": 8})
    run_one("expressions", "ga", 0, 3, str(tmp_path / "clean"), **kw)
    out = str(tmp_path / "killed")

    class Kill(BaseException):
        pass

    if kill == "mid-run":
        real, calls, at = StepRunner.oracle, [], random.Random(0).randrange(1, 6)

        def oracle(self, z):
            calls.append(1)
            if len(calls) == at:
                raise Kill
            return real(self, z)

        monkeypatch.setattr(StepRunner, "oracle", oracle)
    else:
        real_unlink = Path.unlink

        def unlink(self, *args, **kwargs):
            if self.name.endswith(".jsonl"):
                raise Kill  # after the .gz is renamed into place
            return real_unlink(self, *args, **kwargs)

        monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(Kill):
        run_one("expressions", "ga", 0, 3, out, **kw)
    monkeypatch.undo()
    for lock in Path(out).rglob("*.lock"):
        lock.unlink()  # the killed process's lock (a real kill releases its flock)
    run_one("expressions", "ga", 0, 3, out, **kw)
    clean, again = load_sweep(tmp_path / "clean"), load_sweep(out)
    cols = [c for c in clean.columns if c != "path"]
    assert len(clean) == 6
    assert clean[cols].equals(again[cols])
    assert sorted(p.name for p in Path(out, "expressions", "ga").iterdir()) == ["seed0.jsonl.gz"]


@settings(max_examples=200, deadline=None)
@given(name=st.one_of(st.text(max_size=20), st.sampled_from(["ga", "scales_0.5", "scales_es_50",
                                                          "lbfgs_5", "prior_-1", "scales_", "uc_es_101",
                                                          "scales_nan", "scales_1e400", "lbfgs_0"])))
def test_method_names_parse_or_raise_value_error(name):
    from scales_core.bo import get_method

    try:
        spec = get_method(name)
    except ValueError:
        return
    assert get_method(spec.name) == spec  # a parsed name reads back to the same method


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True),
                    st.text(max_size=8), st.sampled_from(["cpa", "exact", "sum", "renormalized",
                                                          "forward", "fd", "inv_c", "start"]))


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(["n_steps", "q", "lr", "ga_steps", "start", "scales_grad", "half_width",
                              "scales_prior", "invalid", "refit", "direction", "scales_formula",
                              "scales_normalizer", "scales_jacobian", "scales_anchor",
                              "scales_dropout", "scales_tau", "logit_clip", "max_cholesky"]),
       value=_VALUES)
def test_bo_config_fields_are_valid_or_refused_with_value_error(field, value):
    import json

    try:
        config = BOConfig(**{field: value})
    except ValueError:
        return
    json.dumps(config.to_dict(), allow_nan=False)  # a header the run file can hold


def test_a_plain_object_vae_goes_through_make_problem():
    from dataclasses import replace

    from test_datasets import TOY, TOY_TASK, ToyVAE

    from scales_core.bo import make_problem
    from scales_core.datasets import register, unregister
    from scales_core.tasks import register_task, unregister_task

    class Plain:
        """The VAE protocol without nn.Module (no .to, .eval, .requires_grad_)."""

        def __init__(self):
            torch.manual_seed(0)
            inner = ToyVAE()
            self.latent_dim, self.latent_scale = inner.latent_dim, inner.latent_scale
            self.decoder, self.tokenize = inner.decoder, inner.tokenize
            self.encode, self.decode_strings = inner.encode, inner.decode_strings

    register(replace(TOY, vae_loader=lambda name, device="cpu": Plain()))
    register_task(TOY_TASK)
    try:
        problem = make_problem("toy_count_a", seed=0)
        assert len(problem.strings) == 12
    finally:
        unregister("toy_ab")
        unregister_task("toy_count_a")


@pytest.mark.parametrize("method", ["ga", "scales_0.5", "scales_es_50", "uc_es_95", "prior_0.5", "lbfgs_1"])
def test_bo_runs_a_float32_decoder_that_does_not_cast(method):
    # issue 29: run_bo keeps float64 latents and hands the decoder its own dtype
    from test_bo_loop import CONFIG, toy_evaluate

    from scales_core.bo import Problem

    torch.manual_seed(0)
    decoder = MLPDecoder(d=3, L=4, D=5, dropout=0.2, scale=3.0).eval()  # float32, no cast

    def decode(z):
        with torch.no_grad():
            return ["".join("abcde"[i] for i in row) for row in decoder(z.float()).argmax(-1).tolist()]

    X = torch.randn(16, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    strings = decode(X)
    values, valid, _ = toy_evaluate(strings)
    keep = torch.as_tensor(valid)
    problem = Problem("toy", decoder, decode, toy_evaluate, [s for s, k in zip(strings, valid) if k],
                      X[keep], torch.as_tensor(values[valid]), info={"n_init": 16})
    data = run_bo(problem, method, seed=0, config=CONFIG, progress=False)
    assert len(data.oracle) == CONFIG.n_steps * CONFIG.q
    assert next(decoder.parameters()).dtype == torch.float32


def test_run_notebooks_out_folder_and_parameter_overrides(tmp_path, monkeypatch):
    import subprocess
    from pathlib import Path

    from test_reliability import _fake_book, _runner

    runner = _runner()
    root = _fake_book(tmp_path)
    seen = []

    def fake_run(cmd, timeout):
        seen.append(cmd)
        Path(cmd[4]).write_text("run")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(runner.subprocess, "run", fake_run)
    out = tmp_path / "mine"
    assert runner.main(["--out", str(out), "-p", "n=7"], root=root) == 0
    assert (out / "ch.ipynb").read_text() == "run"
    assert (root / "book" / "ch.ipynb").read_text() == "previous executed copy"
    import yaml

    assert yaml.safe_load(seen[0][-1])["n"] == 7  # the parameter set with the override
    with pytest.raises(SystemExit):
        runner.main(["-p", "m=1"], root=root)  # not a parameter of the notebook
    with pytest.raises(SystemExit):
        runner.main(["-p", "n"], root=root)  # no value


def test_run_notebooks_writes_the_execution_status_page(tmp_path):
    import json

    from test_reliability import _runner

    runner = _runner()
    book = tmp_path / "book"
    book.mkdir()
    meta = {"papermill": {"duration": 12.3, "end_time": "2026-12-03T09:00:00", "parameters": {"n": 5}}}
    for name, title in [("01_a", "First"), ("02_b", "Second")]:
        nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": [f"# {title}\n"]}],
              "metadata": meta, "nbformat": 4, "nbformat_minor": 5}
        (book / f"{name}.ipynb").write_text(json.dumps(nb))
    (book / "03_c.ipynb").write_text("not a notebook")
    page = runner.write_status(book, failed=["02_b.ipynb"]).read_text()
    assert "| [First](01_a.ipynb) | ok | 12 | 2026-12-03 09:00 | `n=5` |" in page
    assert "| [Second](02_b.ipynb) | failed; the previous run is shown |" in page
    assert "03_c" not in page
