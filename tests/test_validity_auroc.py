"""The validity-AUROC helpers on synthetic scores and a tiny fake VAE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scales_core.auroc import auroc
from scales_core.validity_auroc import DISTRIBUTIONS, draw_latents, tune_rho


def test_tune_rho_finds_the_separating_weight():
    rng = np.random.default_rng(0)
    valid = rng.random(400) < 0.5
    log_det = np.where(valid, 1.0, -1.0) + 0.1 * rng.standard_normal(400)
    prior = -5.0 * log_det + rng.standard_normal(400)  # prior points the wrong way
    best, curve = tune_rho(prior, log_det, valid, [0.0, 1.0, 10.0])
    assert best == 10.0
    assert curve[10.0] > 0.95 and curve[0.0] < 0.1
    with pytest.raises(ValueError, match="empty"):
        tune_rho(prior, log_det, valid, [])


def test_auroc_orientation_and_single_class():
    valid = np.array([True, True, False, False])
    assert auroc(valid, np.array([2.0, 3.0, 0.0, 1.0])) == 1.0
    assert auroc(valid, np.array([0.0, 1.0, 2.0, 3.0])) == 0.0
    assert np.isnan(auroc(np.array([True, True]), np.array([1.0, 2.0])))


class _FakeVAE:
    latent_dim = 2

    def encode(self, items):
        return torch.tensor([[float(len(s)), 0.0] for s in items])

    def decode_strings(self, z):
        return ["ok" if float(v) < 3 else "bad" for v in z.norm(dim=-1)]


def test_draw_latents_layout():
    draw = draw_latents(
        _FakeVAE(), ["a", "bb", "c"], ["dd", "e", "f"], 2, lambda s: s == "ok", seed=0
    )
    assert draw.z.shape == (8, 2)
    assert list(draw.source) == [d for d in DISTRIBUTIONS for _ in range(2)]
    assert draw.valid.dtype == bool and len(draw.decoded) == 8
    with pytest.raises(ValueError, match="items per split"):
        draw_latents(_FakeVAE(), ["a"], ["b"], 2, lambda s: True, seed=0)


def test_score_draw_matches_the_separate_scores():
    from conftest import MLPDecoder

    import scales_core as sc
    from scales_core.validity_auroc import score_draw

    dec = MLPDecoder().double()
    z = torch.randn(5, 3, dtype=torch.float64)
    out = score_draw(dec, z, positions=3, batch_size=2)
    np.testing.assert_allclose(
        out["log_det"],
        sc.ScaLES(dec, positions=3).log_det(z).detach().numpy(),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        out["polarity"],
        sc.polarity_score(dec, z, positions=3).detach().numpy(),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        out["likelihood"],
        sc.likelihood_score(dec, z, positions=3).detach().numpy(),
        rtol=1e-10,
    )
    np.testing.assert_allclose(out["prior"], sc.prior_score(z).numpy())


def test_published_protocol_draws_at_the_latent_scale():
    vae = _FakeVAE()
    vae.latent_scale = 0.01
    draw = draw_latents(
        vae,
        ["a", "bb", "c"] * 100,
        [],
        200,
        lambda s: s == "ok",
        seed=0,
        protocol="published_code",
    )
    assert list(dict.fromkeys(draw.source)) == [
        "train",
        "N(0, s^2 I)",
        "N(0, 25 s^2 I)",
    ]
    near, far = draw.z[200:400], draw.z[400:]
    # per-coordinate s.d. 0.01 and 0.05 (les/analysis/ood.py: randn * eps, randn * 5 eps)
    assert 0.008 < float(near.std()) < 0.012 and 0.04 < float(far.std()) < 0.06
    with pytest.raises(ValueError, match="unknown protocol"):
        draw_latents(vae, ["a"], [], 1, lambda s: True, seed=0, protocol="ood")


def test_score_draw_prior_at_a_scale():
    from conftest import MLPDecoder

    import scales_core as sc
    from scales_core.validity_auroc import score_draw

    dec = MLPDecoder().double()
    z = 0.1 * torch.randn(4, 3, dtype=torch.float64)
    out = score_draw(dec, z, batch_size=4, prior_scale=0.1)
    expected = (
        torch.distributions.Normal(0.0, torch.tensor(0.1, dtype=torch.float64))
        .log_prob(z)
        .sum(-1)
    )
    np.testing.assert_allclose(out["prior"], expected.numpy(), rtol=1e-12)
    s = sc.ScaLES(dec, rho=0.5, prior_scale=0.1)
    torch.testing.assert_close(s(z), expected + 0.5 * s.log_det(z))


def _protocols_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "run_validity_protocols.py"
    spec = importlib.util.spec_from_file_location("run_validity_protocols", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_protocols_table_collects_every_finished_run(tmp_path):
    from scales_core.provenance import write_json

    script = _protocols_script()
    assert script.dataset_of("smiles_gru_0.05") == "smiles"
    auroc = {k: 0.5 + 0.01 * i for i, k in enumerate(script.SCORES)}
    for checkpoint, protocol in [
        ("expressions_gru_0.05", "paper_text"),
        ("smiles_gru_1", "published_code"),
    ]:
        summary = dict(
            dataset=script.dataset_of(checkpoint),
            model=checkpoint,
            protocol=protocol,
            rho=3.0,
            auroc=auroc,
        )
        write_json(tmp_path / f"{checkpoint}_{protocol}.json", {}, summary=summary)
    table = script.collect(tmp_path)
    assert list(table.columns) == [
        "dataset",
        "checkpoint",
        "protocol",
        "score",
        "auroc",
        "rho",
    ]
    assert len(table) == 2 * len(script.SCORES)
    # the dotted beta survives in the file name and the row
    assert set(table["checkpoint"]) == {"expressions_gru_0.05", "smiles_gru_1"}
    scales = table[table["score"] == "scales"]
    assert (scales["rho"] == 3.0).all() and table[table["score"] != "scales"][
        "rho"
    ].isna().all()
