"""The published releases' scores: each differs from the exact score only where documented."""

from __future__ import annotations

import pytest
import torch
from conftest import MLPDecoder

import scales_core as sc
from scales_core.logdet import log_det_pinv
from scales_core.reference import (
    first_release_gradient,
    first_release_positions,
    naive_forward_score,
    published_score,
)


def test_first_release_is_eq13_with_a_bare_prior():
    dec = MLPDecoder().double()
    z = torch.randn(4, 3, dtype=torch.float64)
    ref = published_score(dec, z, "first", eps=1e-7, rho=0.5)
    exact = sc.ScaLES(dec).log_det(z)
    want = 0.5 * exact - 0.5 * z.square().sum(-1)  # no normalising constant
    torch.testing.assert_close(ref, want, rtol=1e-5, atol=1e-5)


def test_later_release_is_the_forward_formula_with_the_inv_c_row():
    dec = MLPDecoder().double()
    z = torch.randn(4, 3, dtype=torch.float64)
    ref = published_score(dec, z, "later", dropout=False, eps=1e-7)
    naive = naive_forward_score(dec, z, normalizer="inv_c") - sc.prior_score(z)
    torch.testing.assert_close(ref, naive, rtol=1e-5, atol=1e-5)
    # the c row is another score
    other = naive_forward_score(dec, z, normalizer="c") - sc.prior_score(z)
    assert not torch.allclose(ref, other, rtol=1e-3)


def test_first_release_positions_rule():
    assert first_release_positions(120, 56) == 30  # the SMILES GRU
    assert first_release_positions(19, 25) == 19
    assert first_release_positions(70, 256) == 60


def test_first_release_gradient_is_the_clipped_fixed_jacobian_gradient():
    # scale 30: logits beyond 12 occur, so the clip changes the gradient
    dec = MLPDecoder(scale=30.0).double().requires_grad_(False)
    z = torch.randn(3, 3, dtype=torch.float64)
    assert dec(z).abs().max() > 12
    g = first_release_gradient(dec, z, tau=0.3, logit_clip=12, eps=1e-7)
    # by hand: finite differences of the clipped value with A frozen at z
    _, A = sc.logits_and_jacobian(dec, z)

    def value(x):
        logits = dec(x).clamp(-12, 12)
        return 0.3 * log_det_pinv(logits, A) - 0.5 * x.square().sum(-1)

    # the clamp is straight-through: d/dz uses the unclamped logits' derivative
    x = z.clone().requires_grad_(True)
    logits = dec(x)
    st = logits + (logits.clamp(-12, 12) - logits).detach()
    v = 0.3 * log_det_pinv(st, A) - 0.5 * x.square().sum(-1)
    (want,) = torch.autograd.grad(v.sum(), x)
    torch.testing.assert_close(g, want, rtol=1e-4, atol=1e-4)
    assert value(z).isfinite().all()
    unclipped = first_release_gradient(dec, z, tau=0.3, logit_clip=None, eps=1e-7)
    assert not torch.allclose(g, unclipped, rtol=1e-2)


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
    for release in ("later", "p_row"):
        a, b = published_score(dec, z, release), published_score(dec, z, release)
        assert not torch.allclose(a, b)
        assert not dec.training
    # the first release runs in eval mode: deterministic
    torch.testing.assert_close(
        published_score(dec, z, "first"), published_score(dec, z, "first")
    )
    with pytest.raises(ValueError, match="release"):
        published_score(dec, z, "second")


def test_a_causal_decoder_stops_at_the_positions_with_the_same_bits():
    """Decoding only the kept positions (4x faster on the SMILES GRU) changes no bit on one
    thread (as the sweeps run); a multi-threaded BLAS may split the shorter products
    differently, a round-off difference."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _same_bits_when_the_decoder_stops()
    finally:
        torch.set_num_threads(threads)


def _same_bits_when_the_decoder_stops():
    from test_jacobian import small_char_decoder

    from scales_core.bo.published import ReleasePenalty
    from scales_core.reference import published_jacobian

    dec = small_char_decoder("gru").float()
    calls = []
    dec.register_forward_hook(
        lambda m, args, kwargs, out: calls.append(out.shape[1]), with_kwargs=True
    )
    z = torch.randn(3, 3)
    logits, A = published_jacobian(dec, z, eps=1e-3, dropout=False, positions=2)
    full_logits, full_A = published_jacobian(
        lambda x: dec(x), z, eps=1e-3, dropout=False
    )
    assert calls == [2, 5]  # the plain function is decoded to the end, then trimmed
    assert torch.equal(logits, full_logits[:, :2]) and torch.equal(
        A, full_A[:, : 2 * 6]
    )
    zd = z.double().requires_grad_(True)
    pen = ReleasePenalty(dec, logit_clip=12.0, positions=2)
    v = pen(zd)
    assert calls[-1] == 2
    (g,) = torch.autograd.grad(v.sum(), zd)
    ref = ReleasePenalty(lambda x: dec(x), logit_clip=12.0, positions=2)
    zr = z.double().requires_grad_(True)
    vr = ref(zr)
    (gr,) = torch.autograd.grad(vr.sum(), zr)
    assert torch.equal(v, vr) and torch.equal(g, gr)
