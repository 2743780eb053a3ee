"""Dataset records: the registry, the VAE protocol, and a user's own toy dataset
run end to end (ScaLES, the validity experiment under both protocols, two BO steps).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import MLPDecoder
from torch import nn

import scales_core as sc
from scales_core import tokens
from scales_core.datasets import (
    DATASETS,
    EXPRESSIONS,
    SELFIES,
    SMILES,
    VAE,
    BODefaults,
    Dataset,
    Validity,
    dataset_for_kind,
    dataset_for_model,
    dataset_for_task,
    get_dataset,
    register,
    unregister,
)
from scales_core.tasks import Outcome, Task, register_task, unregister_task

# ------------------------------------------------------------------ a toy dataset

ALPHABET = ("a", "b", " ")  # " " pads
L, D, d = 4, len(ALPHABET), 3
WORDS = ["".join(w) for n in range(1, L + 1) for w in itertools.product("ab", repeat=n)]


class ToyDecoder(MLPDecoder):
    """The MLP decoder, taking latents of any float dtype (BO passes float64)."""

    def forward(self, z):
        return super().forward(z.to(self.net[0].weight))


class ToyVAE(nn.Module):
    """Strings over {a, b}: a fixed linear encoder and a small MLP decoder."""

    latent_scale = 1.0

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.register_buffer("W", torch.randn(L * D, d, generator=g))
        self.decoder = ToyDecoder(d=d, L=L, D=D, hidden=8, dropout=0.2, scale=3.0)
        self.latent_dim = d
        self._index = {c: i for i, c in enumerate(ALPHABET)}

    def tokenize(self, strings):
        return tokens.encode(strings, self._index, L, what="word")

    @torch.no_grad()
    def encode(self, strings):
        x = nn.functional.one_hot(self.tokenize(list(strings)), D).float()
        return x.flatten(1) @ self.W / L  # n x d

    @torch.no_grad()
    def decode_strings(self, z):
        was = self.decoder.training
        self.decoder.eval()
        idx = self.decoder(z.float()).argmax(-1)
        self.decoder.train(was)
        return ["".join(ALPHABET[i] for i in row).rstrip() for row in idx.tolist()]


def _toy_valid(text: str) -> bool:
    return bool(text) and " " not in text and text.startswith("a")


def _toy_objective(text: str) -> Outcome:
    return Outcome(float(text.count("a") - 0.5 * len(text)), None)


def _toy_items(split: str, n: int, seed: int) -> list[str]:
    order = np.random.default_rng(seed).permutation(len(WORDS))
    half = order[: len(order) // 2] if split == "train" else order[len(order) // 2 :]
    return [WORDS[i] for i in half]


def _toy_pool(n: int, seed: int) -> list[str]:
    order = np.random.default_rng(seed).permutation(len(WORDS))
    return [WORDS[i] for i in order]


def _load_toy(name: str, device="cpu") -> ToyVAE:
    torch.manual_seed(0)  # the same weights on every load
    return ToyVAE()


TOY = Dataset(
    name="toy_ab",
    model="toy_mlp",
    models=("toy_mlp",),
    vae_loader=_load_toy,
    validity=Validity("starts_with_a", _toy_valid),
    objectives=("toy_count_a",),
    items=_toy_items,
    bo_pool=_toy_pool,
    positions=None,
    rho=1.0,
    bo=BODefaults(n_init=12, n_steps=2, q=2, lr=0.5, half_width=3.0),
    description="toy: words over {a, b}",
)
TOY_TASK = Task(
    "toy_count_a",
    "toy",
    _toy_objective,
    lambda s: None if _toy_valid(s) else "does not start with 'a'",
)


@pytest.fixture
def toy():
    register(TOY)
    register_task(TOY_TASK)
    yield TOY
    unregister("toy_ab")
    unregister_task("toy_count_a")


def test_bo_model_must_be_a_model_of_the_record():
    with pytest.raises(ValueError, match="BO model 'nope'"):
        replace(TOY, bo=replace(TOY.bo, model="nope"))


def test_bo_model_names_the_problems_checkpoint(toy):
    from scales_core.bo import problem_info

    assert problem_info("toy_count_a")["checkpoint"] == "toy_mlp"
    other = replace(
        TOY, models=("toy_mlp", "toy_other"), bo=replace(TOY.bo, model="toy_other")
    )
    unregister("toy_ab")
    register(other)
    try:
        assert other.bo_model == "toy_other" and other.model == "toy_mlp"
        assert problem_info("toy_count_a")["checkpoint"] == "toy_other"
        assert (
            problem_info("toy_count_a", checkpoint="toy_mlp")["checkpoint"] == "toy_mlp"
        )
    finally:
        unregister("toy_ab")
        register(TOY)


# ------------------------------------------------------------------ registry


def test_builtin_records():
    assert {"expressions", "smiles", "selfies"} <= set(DATASETS)
    assert dataset_for_task("expressions") is EXPRESSIONS
    assert dataset_for_task("logp") is SMILES
    for task in ("ranolazine_mpo", "perindopril_mpo", "zaleplon_mpo"):
        assert dataset_for_task(task) is SELFIES
    assert (EXPRESSIONS.positions, SMILES.positions, SELFIES.positions) == (
        None,
        30,
        60,
    )
    assert (EXPRESSIONS.validity.name, SMILES.validity.name, SELFIES.validity.name) == (
        "grammar",
        "rdkit",
        "filters",
    )
    assert EXPRESSIONS.bo == BODefaults(500, 100, 5, 0.5, 3.0)
    assert (SMILES.bo.n_init, SMILES.bo.lr) == (500, 0.01)
    # logP's BO runs on the record's default GRU (chapter 5: GA's validity matches)
    assert SMILES.bo_model == SMILES.model == "smiles_gru_1"
    assert EXPRESSIONS.bo_model == EXPRESSIONS.model == "expressions_gru_1"
    assert SMILES.bo_config_fields()["half_width"] == pytest.approx(0.025)
    assert SELFIES.bo.n_init == 1000 and SELFIES.bo.n_steps == 250
    assert SELFIES.bo.surrogate["kind"] == "deep_kernel"  # the published DKL GP
    from scales_core.sweep import run_config

    config = run_config("zaleplon_mpo")
    assert (
        config.surrogate.hidden == (1000, 500, 50) and config.surrogate.features == 12
    )
    assert run_config("zaleplon_mpo", surrogate="exact").surrogate.kind == "exact"
    assert (
        run_config("expressions").surrogate
        == run_config("expressions", surrogate="exact").surrogate
    )
    assert dataset_for_model("smiles_lstm_0.1") is SMILES
    assert dataset_for_kind("char_expressions") is EXPRESSIONS
    assert EXPRESSIONS.training.char_sizes["max_len"] == 19
    assert SMILES.training.char_sizes["latent_dim"] == 56


def test_registry_errors(toy):
    with pytest.raises(ValueError, match="already registered"):
        register(TOY)
    assert register(TOY, replace=True) is TOY
    with pytest.raises(ValueError, match="unknown dataset 'nope'.*expressions"):
        get_dataset("nope")
    with pytest.raises(ValueError, match="no BO problem for task 'sudoku'"):
        dataset_for_task("sudoku")
    other = Dataset(**{**TOY.__dict__, "name": "toy_other"})
    with pytest.raises(ValueError, match="already served"):
        register(other)
    with pytest.raises(ValueError, match="default model"):
        Dataset(**{**TOY.__dict__, "model": "missing"})
    with pytest.raises(ValueError, match="no model 'other'"):
        toy.load_vae("other")
    with pytest.raises(ValueError, match="unknown split"):
        toy.load_items("valid", 3, 0)


def test_vae_protocol():
    assert isinstance(ToyVAE(), VAE)
    cfg = sc.models.CharVAEConfig(
        vocab_size=15,
        max_len=19,
        latent_dim=25,
        conv_channels=(2, 3, 4),
        conv_kernels=(2, 3, 4),
    )
    vocab = list(tokens.EXPRESSIONS_VOCAB)
    assert isinstance(sc.models.CharVAE(cfg, vocab, pad_index=14), VAE)
    assert not isinstance(MLPDecoder(), VAE)


# ------------------------------------------------------------------ end to end


def test_toy_record_runs_everywhere(toy):
    from scales_core.bo import BOConfig, make_problem, run_bo
    from scales_core.bo.surrogate import SurrogateConfig
    from scales_core.validity_auroc import PROTOCOLS, run_validity_experiment

    vae = toy.load_vae()
    z = torch.randn(4, d, dtype=torch.float64)
    score = sc.ScaLES(vae.decoder.double(), rho=toy.rho)(z)
    assert score.shape == (4,) and torch.isfinite(score).all()

    for protocol in PROTOCOLS:
        frame, summary = run_validity_experiment(
            toy,
            n=5,
            n_calibration=5,
            uc_samples=(2, 2),
            protocol=protocol,
            rho_grid=(0.1, 1.0, 10.0),
        )
        assert summary["dataset"] == "toy_ab" and summary["model"] == "toy_mlp"
        assert len(frame) == 5 * len(PROTOCOLS[protocol])
        assert set(summary["auroc"]) == {
            "scales",
            "uncertainty",
            "prior",
            "polarity",
            "likelihood",
            "log_det",
            "forward_c",
            "forward_inv_c",
            "log_det_clip12",
        }

    problem = make_problem("toy_count_a", seed=0)
    assert problem.info == dict(checkpoint="toy_mlp", n_init=12, data_seed=0)
    # invalid items of the first draw are replaced: n_init valid labelled points
    assert all(_toy_valid(s) for s in problem.strings) and len(problem.strings) == 12
    assert not all(_toy_valid(s) for s in _toy_pool(12, 0)[:12])
    config = BOConfig(
        n_steps=toy.bo.n_steps,
        q=toy.bo.q,
        lr=toy.bo.lr,
        half_width=toy.bo.half_width,
        mc_samples=32,
        surrogate=SurrogateConfig(maxiter_cold=20),
    )
    data = run_bo(problem, "scales_0.5", seed=0, config=config, progress=False)
    assert len(data.oracle) == 2 * toy.bo.q
    assert all(math.isfinite(c["scales"]) for c in data.oracle)


@pytest.mark.usefixtures("one_thread")
def test_training_without_heldout_file_holds_out_lines(tmp_path):
    from scales_core.datasets import load_training_strings

    path = tmp_path / "lines.txt"
    path.write_text("\n".join(f"C{'C' * i}O" for i in range(10)))
    train, held, _ = load_training_strings("selfies_transformer", None, 3, 0, str(path))
    assert held == ["CO", "CCO", "CCCO"] and len(train) == 7
    assert not set(train) & set(held)


def test_a_string_is_not_a_tuple_of_objectives():
    import dataclasses

    from scales_core.datasets import get_dataset

    record = get_dataset("expressions")
    with pytest.raises(ValueError, match=r"objectives must be a tuple.*\('my_task',\)"):
        dataclasses.replace(record, objectives="my_task")
    with pytest.raises(ValueError, match="repeats"):
        dataclasses.replace(record, objectives=("a", "a"))
