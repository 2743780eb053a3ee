"""The training entry point: tiny runs write checkpoints and records and resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import TINY_TRANSFORMER as TINY
from conftest import needs_data

from scales_core import train
from scales_core.models.own import load_vae
from scales_core.models.training import epoch_batches

MOLECULES = [
    "CCO",
    "c1ccccc1",
    "CC(=O)NC",
    "OCC#N",
    "C1CCNC1",
    "CCN(CC)CC",
    "CC(C)O",
    "c1ccncc1",
    "O=C(O)c1ccccc1",
    "CCOC(=O)C",
]


HELDOUT = ["CCCO", "c1ccoc1", "CC(=O)O", "CCCN", "C1CCOC1"]


@pytest.fixture
def smiles_file(tmp_path):
    path = tmp_path / "mols.txt"
    path.write_text("\n".join(MOLECULES * 3))
    return path


def heldout_of(data):
    """A held-out file beside ``data`` that shares no item with it."""
    path = Path(data).with_name(Path(data).stem + "_heldout.txt")
    if not path.exists():
        expr = "x" in Path(data).read_text()
        path.write_text("\n".join(["x+2", "x*3", "sin(x)/2"] if expr else HELDOUT))
    return path


def run(*argv):
    return train.main([str(a) for a in argv])


def common(out, data):
    return [
        "--out",
        out,
        "--train-file",
        data,
        "--heldout-file",
        heldout_of(data),
        "--batch-size",
        "4",
        "--n-prior",
        "8",
        "--no-progress",
        "--checkpoint-minutes",
        "0",
        "--warmup-steps",
        "2",
    ]


def test_selfies_run_and_resume(tmp_path, smiles_file):
    out = tmp_path / "run"
    record = run(
        "--model",
        "selfies_transformer",
        "--max-steps",
        2,
        *common(out, smiles_file),
        *TINY,
    )
    assert (out / "checkpoint.pt").exists() and (out / "final" / "model.pt").exists()
    on_disk = json.loads((out / "record.json").read_text())
    assert on_disk["steps"] == record["steps"] == 2
    for key in ("command", "args", "seed", "git_commit", "data", "wall_time_s"):
        assert key in on_disk
    metrics = on_disk["final_metrics"]
    assert 0 <= metrics["recon_accuracy"] <= 1 and 0 <= metrics["prior_valid"] <= 1
    assert on_disk["data"]["n_train"] == 30
    ckpt = torch.load(out / "checkpoint.pt", weights_only=False)
    assert ckpt["step"] == 2 and ckpt["pos"] == 2 and ckpt["epoch"] == 0

    resumed = run("--out", out, "--resume", "--max-steps", 5, "--no-progress")
    assert resumed["steps"] == 5
    assert [s["start_step"] for s in resumed["sessions"]] == [0, 2]
    assert resumed["args"]["d_model"] == 16  # the saved parameters are kept
    ckpt = torch.load(out / "checkpoint.pt", weights_only=False)
    assert ckpt["step"] == 5 and ckpt["epoch"] == 0 and ckpt["pos"] == 5
    vae = load_vae(out / "final")
    assert vae.decoder(torch.randn(3, 8)).shape[:2] == (3, 20)


def test_resume_matches_uninterrupted(tmp_path, smiles_file):
    a, b = tmp_path / "a", tmp_path / "b"
    model = ["--model", "selfies_transformer"]
    run(*model, "--max-steps", 4, *common(a, smiles_file), *TINY)
    run(*model, "--max-steps", 2, *common(b, smiles_file), *TINY)
    run("--out", b, "--resume", "--max-steps", 4, "--no-progress")
    sa = torch.load(a / "checkpoint.pt", weights_only=False)["model"]
    sb = torch.load(b / "checkpoint.pt", weights_only=False)["model"]
    for key in sa:
        torch.testing.assert_close(sa[key], sb[key])


def test_resume_without_checkpoint(tmp_path):
    with pytest.raises(SystemExit, match="no checkpoint"):
        run("--out", tmp_path / "none", "--resume")


def test_char_expressions_run(tmp_path):
    data = tmp_path / "expr.txt"
    data.write_text("\n".join(["x+1", "sin(x)*2", "x/3+exp(x)", "x*x", "(x+2)/1"] * 4))
    record = run(
        "--model", "char_expressions", "--max-steps", 2, *common(tmp_path / "run", data)
    )
    assert record["steps"] == 2 and "recon_accuracy" in record["final_metrics"]
    vae = load_vae(tmp_path / "run" / "final")
    assert vae.decoder(torch.randn(2, 25)).shape == (2, 19, 15)


@needs_data("checkpoints/paper/smiles_vocab.yaml")
def test_char_smiles_run(tmp_path, smiles_file):
    record = run(
        "--model",
        "char_smiles",
        "--max-steps",
        2,
        *common(tmp_path / "run", smiles_file),
    )
    assert record["steps"] == 2
    vae = load_vae(tmp_path / "run" / "final")
    assert vae.decoder(torch.randn(2, 56)).shape == (2, 120, 35)


def test_lr_schedule():
    f = [train.lr_factor(s, 100, 10, 0.1) for s in range(101)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert f[100] == pytest.approx(0.1) and all(a >= b for a, b in zip(f[10:], f[11:]))


def test_epoch_batches_deterministic_and_complete():
    tokens = torch.randint(1, 5, (37, 6))
    tokens[:, 3:] = 0
    one = epoch_batches(tokens, 8, seed=1, epoch=0, pad=0)
    two = epoch_batches(tokens, 8, seed=1, epoch=0, pad=0)
    assert all(torch.equal(a, b) for a, b in zip(one, two))
    assert sorted(torch.cat(one).tolist()) == list(range(37))
    other = epoch_batches(tokens, 8, seed=1, epoch=1, pad=0)
    assert not all(torch.equal(a, b) for a, b in zip(one, other))


def test_records_option_trains_a_registered_dataset(tmp_path):
    from scales_core.datasets import DATASETS, dyck, unregister
    from scales_core.tasks import TASKS, unregister_task

    def forget():
        if "dyck" in DATASETS:
            unregister("dyck")
        if "dyck_depth" in TASKS:
            unregister_task("dyck_depth")

    out = tmp_path / "dyck"
    forget()
    try:
        record = run(
            "--records",
            "scales_core.datasets.dyck",
            "--model",
            "char_dyck",
            "--n-train",
            64,
            "--n-heldout",
            16,
            "--max-steps",
            2,
            "--batch-size",
            8,
            "--n-prior",
            8,
            "--no-progress",
            "--checkpoint-minutes",
            0,
            "--warmup-steps",
            1,
            "--out",
            out,
        )
        assert record["args"]["records"] == ["scales_core.datasets.dyck"]
        assert (
            record["data"]["n_train"] == 64 and "synthetic" in record["data"]["source"]
        )
        vae = load_vae(out / "final")
        assert vae.kind == "char_dyck" and list(vae.vocab) == list(dyck.VOCAB)
        forget()  # a resume imports the saved --records again
        resumed = run("--out", out, "--resume", "--max-steps", 3, "--no-progress")
        assert resumed["steps"] == 3 and "dyck" in DATASETS
    finally:
        forget()
    with pytest.raises(SystemExit, match="--records no_such_module_xyz: cannot import"):
        run(
            "--records",
            "no_such_module_xyz",
            "--model",
            "char_dyck",
            "--out",
            tmp_path / "x",
        )
    assert not (tmp_path / "x").exists()


@pytest.fixture
def mols(tmp_path):
    path = tmp_path / "mols.txt"
    path.write_text("\n".join(MOLECULES * 3))
    return path


def train_run(out, data, *extra):
    return run(
        "--model",
        "selfies_transformer",
        "--max-steps",
        1,
        *common(out, data),
        *TINY,
        *extra,
    )


@pytest.mark.usefixtures("one_thread")
def test_training_refuses_a_non_empty_folder(tmp_path, mols):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not empty.*--resume.*--overwrite"):
        train_run(out, mols)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    train_run(out, mols, "--overwrite")
    first = (out / "checkpoint.pt").read_bytes()
    with pytest.raises(SystemExit, match="not empty"):  # a finished run, too
        train_run(out, mols)
    assert (out / "checkpoint.pt").read_bytes() == first
    with pytest.raises(SystemExit, match="exclude each other"):
        train_run(out, mols, "--overwrite", "--resume")
    record = train_run(out, mols, "--overwrite", "--seed", "1")
    assert record["seed"] == 1 and len(record["sessions"]) == 1
    assert (out / "notes.txt").read_text() == "keep me"


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize(
    "option, value",
    [
        ("--batch-size", "0"),
        ("--batch-size", "-4"),
        ("--epochs", "0"),
        ("--epochs", "nan"),
        ("--epochs", "-1"),
        ("--n-train", "0"),
        ("--n-train", "-3"),
        ("--lr", "0"),
        ("--n-heldout", "0"),
        ("--threads", "0"),
    ],
)
def test_training_options_are_validated(tmp_path, mols, option, value):
    out = tmp_path / "run"
    with pytest.raises(SystemExit, match=f"{option} must be a finite number"):
        run("--out", out, "--train-file", mols, option, value, "--no-progress")
    assert not out.exists()  # refused before anything was written


@pytest.mark.usefixtures("one_thread")
def test_training_refuses_overlapping_heldout(tmp_path, mols):
    held = tmp_path / "held.txt"
    held.write_text("CCCO\nCCO\n")  # CCO is a training molecule
    for heldout in (mols, held):
        with pytest.raises(SystemExit, match="held-out set shares"):
            run(
                "--out",
                tmp_path / "run",
                "--train-file",
                mols,
                "--heldout-file",
                heldout,
                "--no-progress",
            )
    assert not (tmp_path / "run").exists()


@pytest.mark.usefixtures("one_thread")
def test_resume_with_another_model_is_refused(tmp_path, mols):
    out = tmp_path / "run"
    train_run(out, mols)
    before = (out / "checkpoint.pt").read_bytes()
    with pytest.raises(
        SystemExit,
        match="--model: saved 'selfies_transformer', given 'char_expressions'",
    ):
        run("--out", out, "--resume", "--model", "char_expressions")
    with pytest.raises(SystemExit, match="--batch-size: saved 4, given 8"):
        run("--out", out, "--resume", "--batch-size", "8")
    assert (out / "checkpoint.pt").read_bytes() == before
    record = run(
        "--out",
        out,
        "--resume",
        "--model",
        "selfies_transformer",
        "--max-steps",
        "2",
        "--no-progress",
    )
    assert record["steps"] == 2


@pytest.mark.usefixtures("one_thread")
def test_truncated_training_checkpoint_names_the_file(tmp_path, mols):
    out = tmp_path / "run"
    train_run(out, mols)
    ckpt = out / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.raises(SystemExit) as error:
        run("--out", out, "--resume", "--max-steps", "2")
    message = str(error.value)
    assert str(ckpt) in message and "not a readable training checkpoint" in message
    assert "--overwrite" in message and "weights_only" not in message
