"""ScaLES against a naive Eq. 13, closed forms, loops and finite differences."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import TOL, GRUDecoder, LinearDecoder, MLPDecoder

import scales_core as sc
from scales_core.logdet import log_det_forward, log_det_paper
from scales_core.reference import naive_forward_score as naive_forward
from scales_core.reference import naive_paper_score as naive_paper


@pytest.mark.parametrize("make", [MLPDecoder, GRUDecoder], ids=["mlp", "gru"])
@pytest.mark.parametrize("rho", [1.0, 0.3])
def test_paper_matches_naive_eq13(make, rho):
    dec = make().double()
    z = torch.randn(4, 3, dtype=torch.float64)
    got = sc.ScaLES(dec, rho=rho)(z)
    torch.testing.assert_close(got, naive_paper(dec, z, rho), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("make", [MLPDecoder, GRUDecoder], ids=["mlp", "gru"])
def test_forward_matches_naive(make):
    dec = make().double()
    z = torch.randn(4, 3, dtype=torch.float64)
    got = sc.ScaLES(dec, formula="forward")(z)
    torch.testing.assert_close(got, naive_forward(dec, z), rtol=1e-9, atol=1e-9)


def test_positions_matches_naive_truncation(mlp_decoder):
    z = torch.randn(3, 3, dtype=torch.float64)
    got = sc.ScaLES(mlp_decoder, positions=2)(z)
    torch.testing.assert_close(got, naive_paper(mlp_decoder, z, positions=2))
    assert not torch.allclose(got, sc.ScaLES(mlp_decoder)(z))


def _zero_sum_orthonormal(L, D, d):
    """`L*D x d` with orthonormal columns whose per-position blocks sum to zero."""
    A = torch.randn(L, D, d, dtype=torch.float64)
    A = (A - A.mean(1, keepdim=True)).reshape(L * D, d)
    return torch.linalg.qr(A).Q


@pytest.mark.parametrize("formula", ["paper", "forward"])
def test_linear_decoder_closed_form(formula):
    # At z = 0 all logits are 0: p = 1/D, c = D, and A^T W A = D^2 I, so both
    # formulas give log_det = d log D.
    L, D, d = 4, 5, 3
    dec = LinearDecoder(_zero_sum_orthonormal(L, D, d), torch.zeros(L * D), L, D)
    z = torch.zeros(2, d, dtype=torch.float64)
    s = sc.ScaLES(dec, rho=0.7, formula=formula)
    expected = torch.full((2,), d * math.log(D), dtype=torch.float64)
    torch.testing.assert_close(s.log_det(z), expected)
    torch.testing.assert_close(s(z), -0.5 * d * math.log(2 * math.pi) + 0.7 * expected)


def test_linear_decoder_jacobian_is_W():
    W = torch.randn(12, 3, dtype=torch.float64)
    dec = LinearDecoder(W, torch.randn(12, dtype=torch.float64), 4, 3)
    z = torch.randn(5, 3, dtype=torch.float64)
    for method in ("forward", "fd", "reverse"):
        A = sc.decoder_jacobian(dec, z, method=method)
        torch.testing.assert_close(A, W.expand(5, -1, -1), rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("formula", ["paper", "forward"])
def test_batched_equals_per_item_loop(mlp_decoder, formula):
    z = torch.randn(6, 3, dtype=torch.float64)
    s = sc.ScaLES(mlp_decoder, formula=formula)
    loop = torch.cat([s(zi[None]) for zi in z])
    torch.testing.assert_close(s(z), loop, **TOL[torch.float64])


@pytest.mark.parametrize("seed", range(5))
def test_paper_not_below_forward(seed):
    # Eq. 13 uses a left inverse of J = F A; the Moore-Penrose one minimizes det.
    torch.manual_seed(seed)
    dec = MLPDecoder(d=4, L=3, D=6, scale=3.0).double()
    z = 2 * torch.randn(8, 4, dtype=torch.float64)
    paper = sc.ScaLES(dec, formula="paper")(z)
    forward = sc.ScaLES(dec, formula="forward")(z)
    assert (paper >= forward - 1e-9).all(), (paper - forward).min()


@pytest.mark.parametrize("formula", ["paper", "forward"])
def test_log_det_algebra_gradcheck(formula):
    fn = log_det_paper if formula == "paper" else log_det_forward
    logits = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    A = torch.randn(2, 12, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (logits, A))


@pytest.mark.parametrize("formula", ["paper", "forward"])
@pytest.mark.parametrize("make", [MLPDecoder, GRUDecoder], ids=["mlp", "gru"])
def test_exact_gradient_gradcheck(make, formula):
    dec = make().double()
    z = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    s = sc.ScaLES(dec, formula=formula, grad="exact")
    assert torch.autograd.gradcheck(s, (z,))


def test_exact_gradient_vs_central_differences(gru_decoder):
    s = sc.ScaLES(gru_decoder, rho=1.0)
    z = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(s(z).sum(), z)
    h = 1e-5
    fd = torch.zeros_like(z)
    with torch.no_grad():
        for k in range(3):
            e = torch.zeros_like(z)
            e[:, k] = h
            fd[:, k] = (s(z + e) - s(z - e)) / (2 * h)
    torch.testing.assert_close(g, fd, rtol=1e-5, atol=1e-6)


def test_cpa_gradient_is_gradient_with_jacobian_frozen(mlp_decoder):
    z0 = torch.randn(2, 3, dtype=torch.float64)
    A0 = sc.decoder_jacobian(mlp_decoder, z0).detach()

    def frozen(z):
        logits = mlp_decoder(z)
        return sc.prior_score(z) + log_det_paper(logits, A0)

    z = z0.clone().requires_grad_()
    (g_cpa,) = torch.autograd.grad(sc.ScaLES(mlp_decoder, grad="cpa")(z).sum(), z)
    (g_ref,) = torch.autograd.grad(frozen(z).sum(), z)
    torch.testing.assert_close(g_cpa, g_ref)
    # gradcheck of the frozen-Jacobian score, the function cpa differentiates
    assert torch.autograd.gradcheck(frozen, (z0.clone().requires_grad_(),))
    (g_exact,) = torch.autograd.grad(sc.ScaLES(mlp_decoder)(z).sum(), z)
    assert not torch.allclose(g_cpa, g_exact)


def test_cpa_equals_exact_for_linear_decoder():
    W = torch.randn(12, 3, dtype=torch.float64)
    dec = LinearDecoder(W, torch.randn(12, dtype=torch.float64), 4, 3)
    z = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    (g1,) = torch.autograd.grad(sc.ScaLES(dec, grad="cpa")(z).sum(), z)
    (g2,) = torch.autograd.grad(sc.ScaLES(dec, grad="exact")(z).sum(), z)
    torch.testing.assert_close(g1, g2)


@pytest.mark.parametrize("formula", ["paper", "forward"])
def test_finite_for_logit_gaps_up_to_300(formula):
    L, D, d = 4, 5, 3
    W = torch.randn(L * D, d, dtype=torch.float64)
    b = torch.zeros(L, D, dtype=torch.float64)
    b[:, 0] = 300.0  # symbol 0 leads every position by about 300 nats
    dec = LinearDecoder(W, b.reshape(-1), L, D)
    z = torch.randn(3, d, dtype=torch.float64, requires_grad=True)
    for dt in (torch.float64, torch.float32):
        val = sc.ScaLES(dec, formula=formula)(z.to(dt))
        assert torch.isfinite(val).all(), val
        (g,) = torch.autograd.grad(val.sum(), z)
        assert torch.isfinite(g).all()
    # A moderate gap is still accurate against the naive formula.
    b[:, 0] = 30.0
    dec = LinearDecoder(W, b.reshape(-1), L, D)
    naive = naive_paper if formula == "paper" else naive_forward
    torch.testing.assert_close(
        sc.ScaLES(dec, formula=formula)(z.detach()),
        naive(dec, z.detach()),
        rtol=1e-7,
        atol=1e-6,
    )


def test_float32_input_gives_float32_close_to_float64():
    dec64 = MLPDecoder()
    z = torch.randn(3, 3)
    v32 = sc.ScaLES(dec64)(z)
    assert v32.dtype == torch.float32
    dec64 = dec64.double()
    v64 = sc.ScaLES(dec64)(z.double())
    torch.testing.assert_close(v32.double(), v64, rtol=1e-4, atol=1e-3)


def test_decoder_runs_in_eval_mode_and_mode_is_restored():
    dec = MLPDecoder(dropout=0.5).double().train()
    z = torch.randn(3, 3, dtype=torch.float64)
    s = sc.ScaLES(dec)
    first, second = s(z), s(z)
    torch.testing.assert_close(first, second)
    assert dec.training
    dec.eval()
    torch.testing.assert_close(first, s(z))


@pytest.mark.parametrize(
    "z, match",
    [
        (torch.randn(3, dtype=torch.float64), "rank"),
        (torch.randn(2, 3, 3, dtype=torch.float64), "rank"),
        (torch.tensor([[0.0, float("nan"), 1.0]], dtype=torch.float64), "non-finite"),
        (torch.tensor([[0.0, float("inf"), 1.0]], dtype=torch.float64), "non-finite"),
        (torch.randn(2, 4, dtype=torch.float64), "latent size mismatch"),
        (torch.ones(2, 3, dtype=torch.long), "floating point"),
    ],
)
def test_bad_latents_raise(mlp_decoder, z, match):
    with pytest.raises(ValueError, match=match):
        sc.ScaLES(mlp_decoder)(z)


def test_latent_mismatch_without_latent_dim_attribute():
    net = torch.nn.Linear(3, 20).double()

    def dec(z):
        return net(z).reshape(z.shape[0], 4, 5)

    with pytest.raises(ValueError, match="latent size mismatch"):
        sc.ScaLES(dec)(torch.randn(2, 5, dtype=torch.float64))


@pytest.mark.parametrize("jacobian", ["forward", "fd", "reverse"])
def test_bad_decoder_output_raises(jacobian):
    def flat_decoder(z):
        return z.repeat(1, 4)  # (B, 4d): no (L, D) axes

    with pytest.raises(ValueError, match="shape"):
        sc.ScaLES(flat_decoder, jacobian=jacobian)(
            torch.randn(2, 3, dtype=torch.float64)
        )

    def nan_decoder(z):
        return torch.full((z.shape[0], 4, 5), float("nan"), dtype=z.dtype) + z.sum()

    with pytest.raises(ValueError, match="non-finite"):
        sc.ScaLES(nan_decoder, jacobian=jacobian)(
            torch.randn(2, 3, dtype=torch.float64)
        )


def test_bad_constructor_arguments(mlp_decoder):
    for kwargs, match in [
        (dict(formula="pinv"), "formula"),
        (dict(jacobian="magic"), "jacobian"),
        (dict(grad="approx"), "grad"),
        (dict(positions=0), "positions"),
        (dict(rho=float("nan")), "rho"),
    ]:
        with pytest.raises(ValueError, match=match):
            sc.ScaLES(mlp_decoder, **kwargs)


def test_too_few_positions_for_latent_dim():
    dec = MLPDecoder(d=6, L=4, D=2).double()
    with pytest.raises(ValueError, match="positions"):
        sc.ScaLES(dec, positions=2)(torch.randn(2, 6, dtype=torch.float64))


@pytest.mark.parametrize("scale", [1.0, 0.1, 0.001])
def test_prior_score_at_a_scale_is_the_gaussian_log_density(scale):
    z = scale * torch.randn(6, 5, dtype=torch.float64)
    expected = (
        torch.distributions.Normal(0.0, torch.tensor(scale, dtype=torch.float64))
        .log_prob(z)
        .sum(-1)
    )
    torch.testing.assert_close(sc.prior_score(z, scale), expected)
    z.requires_grad_(True)
    (grad,) = torch.autograd.grad(sc.prior_score(z, scale).sum(), z)
    torch.testing.assert_close(grad, -z.detach() / scale**2)


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), True])
def test_prior_scale_must_be_positive(scale):
    with pytest.raises(ValueError, match="prior scale"):
        sc.prior_score(torch.zeros(1, 2), scale)
    with pytest.raises(ValueError, match="prior scale"):
        sc.ScaLES(lambda z: z[:, None, :], prior_scale=scale)
