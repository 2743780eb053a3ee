"""The decoder-uncertainty (UC) score: exact cases, seeds, modes and input checks."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from conftest import MLPDecoder, needs_data
from torch import nn

from scales_core.models import CharDecoder, CharVAEConfig
from scales_core.models.paper import load_uncertainty_thresholds
from scales_core.uncertainty import (
    exact_mutual_information,
    mutual_information_from_logits,
    uncertainty_score,
)


class TwoStateDecoder(nn.Module):
    """``logits = a + h * b`` with one dropout unit ``h`` in ``{0, 1/(1-p)}``.

    Per latent the weights take two values, with probabilities ``p`` (dropped) and
    ``1 - p``, so the mutual information is known by enumeration.
    """

    def __init__(self, p: float = 0.5, L: int = 2, D: int = 3) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.a = torch.randn(L, D, generator=g, dtype=torch.float64)
        self.b = 2 * torch.randn(L, D, generator=g, dtype=torch.float64)
        self.p, self.latent_dim = p, 2

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = nn.functional.dropout(z.new_ones(z.shape[0], 1, 1), self.p, self.training)
        shift = 0.1 * z.sum(-1)[:, None, None]  # latent dependence, kept small
        return (self.a + shift + h * self.b).to(z.dtype)

    def exact(self, z: torch.Tensor) -> torch.Tensor:
        """The mutual information under the true two-point weight distribution."""
        shift = 0.1 * z.sum(-1)[:, None, None].double()
        states = torch.stack([self.a + shift, self.a + shift + self.b / (1 - self.p)])
        return exact_mutual_information(states, torch.tensor([self.p, 1 - self.p]))


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


def test_no_dropout_gives_zero_and_warns():
    dec = MLPDecoder(dropout=0.0).double()
    z = torch.randn(4, 3, dtype=torch.float64)
    with pytest.warns(UserWarning, match="coincide"):
        s = uncertainty_score(dec, z, seed=0)
    assert torch.equal(s, torch.zeros(4, dtype=torch.float64))
    char = CharDecoder(
        CharVAEConfig(vocab_size=5, max_len=6, latent_dim=3, hidden=8, dropout=0.0)
    )
    with pytest.warns(UserWarning, match="coincide"):
        assert (uncertainty_score(char, torch.randn(2, 3), seed=0) == 0).all()
    with pytest.warns(UserWarning, match="coincide"):  # a plain callable: no dropout
        uncertainty_score(lambda x: dec(x), z, seed=0)


def test_estimator_converges_to_enumeration():
    logits = 2 * torch.randn(2, 3, 2, 3, dtype=torch.float64)  # K=2, B=3, L=2, D=3
    exact = exact_mutual_information(logits)
    assert (exact > 0.05).all()
    errors = []
    for n in (20, 20_000):
        g = torch.Generator().manual_seed(1)
        errors.append(
            (mutual_information_from_logits(logits, n, g) - exact).abs().max()
        )
    assert errors[1] < 0.01 and errors[1] < errors[0] + 1e-12
    # N not a multiple of K (and N < K): each draw is still marginally from p_bar
    g = torch.Generator().manual_seed(2)
    logits3 = 2 * torch.randn(3, 2, 2, 3, dtype=torch.float64)
    est = mutual_information_from_logits(logits3, 20_001, g)
    torch.testing.assert_close(
        est, exact_mutual_information(logits3), atol=0.015, rtol=0
    )
    g = torch.Generator().manual_seed(3)
    copies = logits3.repeat(1, 20, 1, 1)  # (3, 40, 2, 3); one permutation per call
    est = torch.stack(
        [mutual_information_from_logits(copies, 2, g) for _ in range(120)]
    )
    assert (est <= math.log(3) + 1e-9).all()
    per_call = est.reshape(-1, 20, 2).mean(1)  # (calls, 2), independent rows
    se = per_call.std(0) / math.sqrt(per_call.shape[0])
    assert ((per_call.mean(0) - exact_mutual_information(logits3)).abs() < 4 * se).all()


def test_exact_enumeration_of_products_and_identical_models():
    logits = torch.randn(1, 2, 2, 3, dtype=torch.float64).expand(4, -1, -1, -1)
    zero = torch.zeros(2, dtype=torch.float64)
    torch.testing.assert_close(exact_mutual_information(logits), zero)
    # two deterministic models that disagree everywhere: MI = log 2
    one_hot = torch.full((2, 1, 2, 3), -1e3, dtype=torch.float64)
    one_hot[0, ..., 0] = 0.0
    one_hot[1, ..., 1] = 0.0
    log2 = torch.tensor([math.log(2)], dtype=torch.float64)
    torch.testing.assert_close(exact_mutual_information(one_hot), log2)
    with pytest.raises(ValueError, match="enumerate"):
        exact_mutual_information(torch.zeros(2, 1, 40, 3))


def test_score_matches_two_state_dropout_mutual_information():
    dec = TwoStateDecoder()
    z = torch.randn(2, 2, dtype=torch.float64)
    est = _quiet(uncertainty_score, dec, z, n_weights=400, n_samples=400, seed=0)
    exact = dec.exact(z)
    assert (exact > 0.1).all()
    torch.testing.assert_close(est, exact, atol=0.04, rtol=0)


def test_reproducible_under_seed_and_generator():
    dec = MLPDecoder(dropout=0.3).double()
    z = torch.randn(5, 3, dtype=torch.float64)
    state = torch.get_rng_state()
    a = uncertainty_score(dec, z, seed=7)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is untouched
    assert torch.equal(a, uncertainty_score(dec, z, seed=7))
    assert not torch.equal(a, uncertainty_score(dec, z, seed=8))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    s1, s2 = (
        uncertainty_score(dec, z, generator=g1),
        uncertainty_score(dec, z, generator=g2),
    )
    assert torch.equal(s1, s2)
    torch.testing.assert_close(uncertainty_score(dec, z, seed=7, log=True), a.log())


def test_batched_equals_per_item_in_distribution():
    """One seed drives the whole batch: rows of a batch are independent draws,
    so a batch of copies of one latent matches that latent scored alone over many
    seeds in distribution (not draw by draw)."""
    dec = MLPDecoder(dropout=0.3, scale=3.0).double()
    z = torch.randn(1, 3, dtype=torch.float64)
    batched = uncertainty_score(dec, z.expand(80, -1), n_weights=4, n_samples=4, seed=0)
    assert batched.unique().numel() > 60
    single = torch.cat(
        [uncertainty_score(dec, z, n_weights=4, n_samples=4, seed=s) for s in range(80)]
    )
    se = math.sqrt((batched.var() + single.var()) / 80)
    assert abs(batched.mean() - single.mean()) < 4 * se


@pytest.mark.parametrize("k_n", [(2, 2), (10, 10), (3, 7)])
def test_non_negative_dtype_and_modes(k_n, dtype):
    dec = MLPDecoder(dropout=0.2, scale=2.0).to(dtype)
    z = torch.randn(6, 3, dtype=dtype)
    for training in (False, True):
        dec.train(training)
        s = uncertainty_score(dec, z, *k_n, seed=1)
        assert s.shape == (6,) and s.dtype == dtype
        assert (s >= 0).all() and (s <= math.log(k_n[0]) + 1e-6).all()
        assert all(m.training == training for m in dec.modules())


def test_batchnorm_stays_in_eval_mode():
    dec = nn.Sequential(
        nn.Linear(3, 8),
        nn.BatchNorm1d(8),
        nn.Dropout(0.3),
        nn.Linear(8, 12),
        nn.Unflatten(1, (4, 3)),
    )
    dec.eval()
    mean = dec[1].running_mean.clone()
    uncertainty_score(dec, torch.randn(5, 3), seed=0)
    assert torch.equal(dec[1].running_mean, mean) and not dec.training


def test_char_decoder_and_positions():
    cfg = CharVAEConfig(vocab_size=5, max_len=6, latent_dim=3, hidden=8, dropout=0.3)
    dec = CharDecoder(cfg).eval()
    z = torch.randn(3, 3)
    s = _quiet(uncertainty_score, dec, z, seed=0)
    assert (s > 0).all() and not dec.training
    torch.testing.assert_close(uncertainty_score(dec, z, seed=0, positions=6), s)


def test_bad_inputs_raise():
    dec = MLPDecoder(dropout=0.2)
    z = torch.randn(2, 3)
    bad = [
        (dict(z=torch.randn(3)), "rank"),
        (dict(z=torch.full((2, 3), float("nan"))), "non-finite"),
        (dict(z=torch.randn(2, 4)), "latent size"),
        (dict(z=torch.ones(2, 3, dtype=torch.long)), "floating"),
        (dict(n_weights=1), "n_weights"),
        (dict(n_samples=0), "n_samples"),
        (dict(n_samples=2.5), "n_samples"),
        (dict(positions=0), "positions"),
        (dict(seed=1, generator=torch.Generator()), "either"),
        (dict(seed=-1), "seed"),
    ]
    for kwargs, match in bad:
        kwargs = dict(z=z) | kwargs
        with pytest.raises(ValueError, match=match):
            uncertainty_score(dec, **kwargs)
    with pytest.raises(ValueError, match="shape"):
        uncertainty_score(lambda x: torch.zeros(x.shape[0], 4), z)
    with pytest.raises(ValueError, match="non-finite"):
        uncertainty_score(lambda x: torch.full((x.shape[0], 2, 3), float("nan")), z)
    with pytest.raises(ValueError, match="shape"):
        mutual_information_from_logits(torch.zeros(2, 3, 4))


@needs_data("checkpoints/paper/uncertainty_thresholds/expressions_gru_1.yaml")
def test_published_thresholds():
    t = load_uncertainty_thresholds("expressions_gru_1")
    assert list(t) == ["90", "95", "99", "max"]
    assert t["90"] < t["95"] < t["99"] < t["max"] < 0
    # the SMILES maxima sit at log(log 10): the ceiling of the K=10 estimator
    assert (
        load_uncertainty_thresholds("smiles_gru_1")["max"]
        <= math.log(math.log(10)) + 1e-6
    )
    with pytest.raises(ValueError):
        load_uncertainty_thresholds("../w")
