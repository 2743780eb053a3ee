"""Reading run records (bo/run_record.py): header differences, and damaged or
half-compacted run files read as one run or skipped by name."""

from __future__ import annotations

import pytest
from conftest import toy_header

from scales_core.bo import run_bo
from scales_core.bo.run_record import header_differences

hypothesis = pytest.importorskip("hypothesis")
given, settings, st = hypothesis.given, hypothesis.settings, hypothesis.strategies

# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


def test_header_differences_name_nested_fields():
    old = toy_header(q=2, lr=0.5)
    new = {**toy_header(q=3, lr=0.5), "seed": 1}
    assert header_differences(old, new) == [
        "parameters.q: stored 2, requested 3",
        "seed: stored 0, requested 1",
    ]
    assert header_differences(old, {**old, "commit": "other"}) == []


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished, compacted toy run: (folder, its .jsonl.gz bytes)."""
    from test_bo_loop import CONFIG, toy_problem

    folder = tmp_path_factory.mktemp("sweep") / "toy" / "ga"
    folder.mkdir(parents=True)
    run_bo(
        toy_problem(),
        "ga",
        seed=0,
        config=CONFIG,
        path=folder / "seed0.jsonl",
        progress=False,
    )
    return folder.parent.parent, (folder / "seed0.jsonl.gz").read_bytes()


def _sweep_with(tmp_path, files: dict[str, bytes]):
    for name, blob in files.items():
        path = tmp_path / "toy" / "ga" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
    return tmp_path


def test_a_killed_compaction_is_read_as_one_run_and_cleaned(tmp_path, finished_run):
    import gzip

    from scales_core.bo.compaction import remove_leftover
    from scales_core.results import load_sweep

    _, gz = finished_run
    out = _sweep_with(
        tmp_path, {"seed0.jsonl.gz": gz, "seed0.jsonl": gzip.decompress(gz)}
    )
    frame = load_sweep(out)
    assert frame.groupby(["method", "seed"]).ngroups == 1 and len(frame) == 6
    assert remove_leftover(out / "toy" / "ga" / "seed0.jsonl")
    assert [p.name for p in (out / "toy" / "ga").iterdir()] == ["seed0.jsonl.gz"]


@pytest.mark.parametrize("damage", ["truncated", "not gzip", "no scales"])
def test_an_unreadable_run_file_is_skipped_and_named(
    tmp_path, finished_run, damage, caplog
):
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
        i = next(
            k
            for k, line in enumerate(lines)
            if '"type": "oracle"' in line or '"oracle"' in line
        )
        record = json.loads(lines[i])
        del record["scales"]
        lines[i] = json.dumps(record) + "\n"
        bad = gzip.compress("".join(lines).encode())
    out = _sweep_with(tmp_path, {"seed0.jsonl.gz": gz, "seed1.jsonl.gz": bad})
    frame = load_sweep(out)
    assert set(frame["seed"]) == {0}
    ((path, reason),) = frame.attrs["skipped"]
    assert path.endswith("seed1.jsonl.gz") and "seed1.jsonl.gz" in caplog.text
    if damage == "no scales":
        assert "line" in reason and "scales" in reason


@settings(max_examples=60, deadline=None)
@given(
    cut=st.floats(0, 1),
    junk=st.binary(max_size=64),
    where=st.sampled_from(["cut", "junk", "both"]),
)
def test_the_run_reader_raises_only_value_errors(
    tmp_path_factory, finished_run, cut, junk, where
):
    import gzip

    from scales_core.bo.run_record import read_run
    from scales_core.results import load_sweep

    _, gz = finished_run
    text = gzip.decompress(gz)
    blob = text[: int(cut * len(text))] if where != "junk" else text
    if where != "cut":
        blob = blob + junk
    folder = tmp_path_factory.mktemp("h")
    for name, data in (
        ("seed0.jsonl", blob),
        ("seed1.jsonl.gz", gzip.compress(blob)[: max(1, int(cut * 200))]),
    ):
        path = folder / "toy" / "ga" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        try:
            read_run(path, complete_oracle=True)
        except ValueError:
            pass
    load_sweep(folder)  # never raises: unreadable files are skipped and listed
