"""The published-code variant: differs from Eq. 13 only where documented."""

from __future__ import annotations

import pytest
import torch
from conftest import MLPDecoder

import scales_core as sc
from scales_core.reference import published_score
from scales_core.score import log_det_pinv


def test_without_dropout_and_with_ones_row_it_is_eq13_minus_prior():
    dec = MLPDecoder().double()
    z = torch.randn(4, 3, dtype=torch.float64)
    ref = published_score(dec, z, dropout=False, extra_row="ones", eps=1e-7)
    exact = sc.ScaLES(dec).log_det(z)
    torch.testing.assert_close(ref, exact, rtol=1e-5, atol=1e-5)


def test_p_row_matches_explicit_weight_matrix():
    logits = torch.randn(2, 3, 4, dtype=torch.float64)
    A = torch.randn(2, 12, 2, dtype=torch.float64)
    got = log_det_pinv(logits, A, extra_row="p")
    for b in range(2):
        P = torch.linalg.pinv(A[b])
        p = torch.softmax(logits[b], -1)
        c = torch.exp(logits[b]).sum(-1)
        M = torch.zeros(2, 2, dtype=torch.float64)
        for i in range(3):
            W = torch.diag(1 / p[i] ** 2) + torch.outer(p[i], p[i]) / c[i] ** 2
            Pi = P[:, 4 * i : 4 * i + 4]
            M = M + Pi @ W @ Pi.T
        torch.testing.assert_close(got[b], 0.5 * torch.logdet(M))
    with pytest.raises(ValueError, match="extra_row"):
        log_det_pinv(logits, A, extra_row="c")


def test_dropout_makes_it_random_and_mode_is_restored():
    dec = MLPDecoder(dropout=0.3).double().eval()
    z = torch.randn(3, 3, dtype=torch.float64)
    a, b = published_score(dec, z), published_score(dec, z)
    assert not torch.allclose(a, b)
    assert not dec.training
