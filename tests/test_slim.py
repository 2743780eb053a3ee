"""Slim run records (scales_core.bo.slim): the chapters' numbers survive the dropped latents."""

import gzip
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from scales_core.bo import read_run, run_bo
from scales_core.bo.compaction import compact_run
from scales_core.bo.slim import is_slim, main, pool_distances, slim_folder, slim_run
from scales_core.results import load_sweep, proposal_norms, unmoved_proposals


def test_pool_distances_match_a_per_proposal_loop():
    rng = np.random.default_rng(0)
    init = rng.normal(size=(15, 3))
    latents = rng.normal(size=(9, 3))
    steps = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    spacing = np.median(
        [
            min(np.linalg.norm(a - b) for j, b in enumerate(init) if j != i)
            for i, a in enumerate(init)
        ]
    )
    want = []
    for z, step in zip(latents, steps):
        pool = list(init) + [w for w, s in zip(latents, steps) if s < step]
        want.append(min(np.linalg.norm(z - p) for p in pool) / spacing)
    assert_allclose(pool_distances(init, latents, steps), want, rtol=1e-12)
    latents[4] = latents[1]  # an earlier step's proposal queried again
    assert pool_distances(init, latents, steps)[4] == 0.0


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Two finished toy runs, compacted with inline initial latents."""
    from test_bo_loop import CONFIG, toy_problem

    out = tmp_path_factory.mktemp("sweep")
    for method in ("ga", "scales_0.8"):
        path = out / "toy" / method / "seed0.jsonl"
        path.parent.mkdir(parents=True)
        run_bo(toy_problem(), method, seed=0, config=CONFIG, path=path, progress=False)
        compact_run(path) if path.exists() else None
    return out


def _chapter_numbers(folder):
    runs = [
        run
        for _, run in sorted(
            (str(p), r)
            for p, r in ((p, read_run(p)) for p in folder.rglob("*.jsonl.gz"))
        )
    ]
    frame = load_sweep(folder).drop(columns=["path"], errors="ignore")
    norms, init_median = proposal_norms(runs)
    return frame, norms, init_median, unmoved_proposals(runs, rel_tol=0.05)


def test_slim_keeps_what_the_chapters_read(tmp_path, sweep):
    folder = tmp_path / "sweep"
    shutil.copytree(sweep, folder)
    before = _chapter_numbers(folder)
    sizes = {p: p.stat().st_size for p in folder.rglob("*.jsonl.gz")}
    changed = slim_folder(folder, progress=False)
    assert sorted(changed) == sorted(sizes)
    after = _chapter_numbers(folder)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1], rtol=1e-6)
    assert before[2] == pytest.approx(after[2], rel=1e-6)
    pd.testing.assert_frame_equal(before[3], after[3])
    for path, size in sizes.items():
        run = read_run(path, complete_oracle=True)
        assert is_slim(run.oracle) and path.stat().st_size < size
        assert (
            "latents" not in run.init and (folder / "_init").exists()
        )  # moved to the store
        assert run.header["compacted"]["oracle_latents"].startswith("dropped")
    assert slim_folder(folder, progress=False) == []  # idempotent
    assert not list(folder.rglob("*.tmp"))


def test_unmoved_is_a_threshold_on_the_stored_distance(tmp_path, sweep):
    folder = tmp_path / "sweep"
    shutil.copytree(sweep, folder)
    full = unmoved_proposals(
        [read_run(p) for p in sorted(folder.rglob("*.gz"))], rel_tol=0.5
    )
    main([str(folder)])
    slim = unmoved_proposals(
        [read_run(p) for p in sorted(folder.rglob("*.gz"))], rel_tol=0.5
    )
    pd.testing.assert_frame_equal(full, slim)


def test_slim_refuses_unfinished_runs(tmp_path, sweep):
    gz = next(sweep.rglob("*.jsonl.gz"))
    lines = gzip.decompress(gz.read_bytes()).decode().splitlines()
    assert json.loads(lines[-1])["type"] == "done"
    cut = tmp_path / "seed1.jsonl.gz"
    cut.write_bytes(gzip.compress(("\n".join(lines[:-1]) + "\n").encode()))
    with pytest.raises(ValueError, match="not finished"):
        slim_run(cut)
    plain = tmp_path / "seed2.jsonl"
    plain.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="compacted"):
        slim_run(plain)
