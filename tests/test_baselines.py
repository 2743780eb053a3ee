"""Prior, polarity and likelihood scores against direct computations."""

from __future__ import annotations

import math

import torch
from conftest import LinearDecoder, MLPDecoder

import scales_core as sc


def test_prior_matches_torch_distribution(dtype):
    z = torch.randn(5, 4, dtype=dtype)
    ref = torch.distributions.Normal(0.0, 1.0).log_prob(z.double()).sum(-1)
    torch.testing.assert_close(sc.prior_score(z).double(), ref, rtol=1e-5, atol=1e-5)


def test_polarity_is_half_logdet_of_gram():
    W = torch.randn(12, 3, dtype=torch.float64)
    dec = LinearDecoder(W, torch.zeros(12, dtype=torch.float64), 4, 3)
    z = torch.randn(2, 3, dtype=torch.float64)
    expected = 0.5 * 0.4 * torch.logdet(W.T @ W)
    torch.testing.assert_close(sc.polarity_score(dec, z, rho=0.4), expected.expand(2))


def test_likelihood_is_log_prob_of_argmax_decode():
    dec = MLPDecoder().double()
    z = torch.randn(3, 3, dtype=torch.float64)
    logp = torch.log_softmax(dec(z), -1)
    tokens = logp.argmax(-1, keepdim=True)
    expected = logp.gather(-1, tokens).squeeze(-1).sum(-1)
    torch.testing.assert_close(sc.likelihood_score(dec, z), expected)
    assert (sc.likelihood_score(dec, z) <= 0).all()
    first2 = logp.gather(-1, tokens).squeeze(-1)[:, :2].sum(-1)
    torch.testing.assert_close(sc.likelihood_score(dec, z, positions=2), first2)


def test_uniform_logits_likelihood():
    dec = LinearDecoder(
        torch.zeros(12, 2, dtype=torch.float64),
        torch.zeros(12, dtype=torch.float64),
        4,
        3,
    )
    z = torch.randn(2, 2, dtype=torch.float64)
    torch.testing.assert_close(
        sc.likelihood_score(dec, z),
        torch.full((2,), 4 * math.log(1 / 3), dtype=torch.float64),
    )


def test_map_batches_equals_one_call():
    dec = MLPDecoder().double()
    s = sc.ScaLES(dec)
    z = torch.randn(7, 3, dtype=torch.float64)
    torch.testing.assert_close(
        sc.map_batches(s, z, batch_size=3, progress=False), s(z).detach()
    )
    import pytest

    with pytest.raises(ValueError, match="batch_size"):
        sc.map_batches(s, z, batch_size=0)
