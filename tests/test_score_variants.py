"""The forward formula's normaliser row and the logit clip (options of ScaLES)."""

from __future__ import annotations

import pytest
import torch
from conftest import MLPDecoder

import scales_core as sc
from scales_core.logdet import clip_logits, log_det_forward
from scales_core.reference import naive_forward_score


@pytest.mark.parametrize("normalizer", ["c", "inv_c"])
def test_forward_matches_the_naive_block_matrix(normalizer):
    dec = MLPDecoder(scale=2.0).double()
    z = torch.randn(5, 3, dtype=torch.float64)
    got = sc.ScaLES(dec, formula="forward", normalizer=normalizer)(z)
    torch.testing.assert_close(got, naive_forward_score(dec, z, normalizer=normalizer))


def test_inv_c_row_stays_finite_for_large_logits():
    # logits of 50 to 400: c = e^400 overflows float64 in a naive 1/c; log space does not
    logits = (
        torch.randn(2, 3, 4, dtype=torch.float64)
        + torch.tensor([50.0, 400.0])[:, None, None]
    )
    A = torch.randn(2, 12, 2, dtype=torch.float64)
    for normalizer in ("c", "inv_c"):
        assert log_det_forward(logits, A, normalizer).isfinite().all()
    # shifting every logit of a position by a constant scales c; the inv_c value
    # moves by the log of that scale only through the normaliser row
    small = logits - logits.amax(-1, keepdim=True)
    a = log_det_forward(small, A, "inv_c")
    b = log_det_forward(small + 30.0, A, "inv_c")
    assert (b > a).all()  # a larger c shrinks the 1/c row: less volume, higher score
    c_row = log_det_forward(small + 30.0, A, "c")
    assert (c_row < log_det_forward(small, A, "c")).all()  # and the c row the other way


@pytest.mark.parametrize("grad", ["exact", "cpa"])
@pytest.mark.parametrize("normalizer", ["c", "inv_c"])
def test_forward_gradcheck(grad, normalizer):
    dec = MLPDecoder().double()
    z = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    s = sc.ScaLES(dec, formula="forward", normalizer=normalizer, grad=grad)
    if grad == "exact":
        assert torch.autograd.gradcheck(s, (z,))
    else:  # cpa: the gradient with A frozen at z
        _, A = sc.logits_and_jacobian(dec, z.detach())
        (g,) = torch.autograd.grad(s.log_det(z).sum(), z)
        x = z.detach().clone().requires_grad_(True)
        (want,) = torch.autograd.grad(log_det_forward(dec(x), A, normalizer).sum(), x)
        torch.testing.assert_close(g, want)


def test_inv_c_is_only_a_forward_option():
    dec = MLPDecoder()
    with pytest.raises(ValueError, match="inv_c"):
        sc.ScaLES(dec, normalizer="inv_c")
    with pytest.raises(ValueError, match="normalizer"):
        sc.ScaLES(dec, formula="forward", normalizer="1/c")
    with pytest.raises(ValueError, match="normalizer"):
        log_det_forward(torch.zeros(1, 2, 3), torch.randn(1, 6, 2), "x")


@pytest.mark.parametrize("formula", ["paper", "forward"])
def test_logit_clip_value_is_the_clamped_logits_value(formula):
    dec = MLPDecoder(scale=10.0).double()
    z = torch.randn(4, 3, dtype=torch.float64)
    assert dec(z).abs().max() > 5
    clipped = sc.ScaLES(dec, formula=formula, logit_clip=5.0).log_det(z)
    logits, A = sc.logits_and_jacobian(dec, z)
    fn = sc.logdet.log_det_paper if formula == "paper" else log_det_forward
    torch.testing.assert_close(clipped, fn(logits.clamp(-5, 5), A))
    assert not torch.allclose(clipped, sc.ScaLES(dec, formula=formula).log_det(z))


def test_logit_clip_is_straight_through():
    x = torch.tensor([[[-20.0, 0.0, 20.0]]], requires_grad=True)
    y = clip_logits(x, 12)
    torch.testing.assert_close(y.detach(), torch.tensor([[[-12.0, 0.0, 12.0]]]))
    (g,) = torch.autograd.grad((y * torch.tensor([1.0, 2.0, 3.0])).sum(), x)
    torch.testing.assert_close(g, torch.tensor([[[1.0, 2.0, 3.0]]]))
    assert clip_logits(x, None) is x
    for bad in (0, -1, float("inf"), True, "12"):
        with pytest.raises(ValueError, match="logit_clip"):
            clip_logits(x, bad)
