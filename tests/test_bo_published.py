"""The published-code penalty (scales_core.bo.published) against the exact score."""

from __future__ import annotations

import pytest
import torch
from conftest import MLPDecoder

import scales_core as sc
from scales_core.bo import get_method
from scales_core.bo.optimize import gen_candidates_normalized_ga
from scales_core.bo.published import PublishedPenalty
from scales_core.reference import published_score


def test_without_dropout_it_is_the_reference_variant():
    dec = MLPDecoder(dropout=0.3).double()
    z = torch.randn(4, 3, dtype=torch.float64)
    pen = PublishedPenalty(dec, dropout=False)
    torch.testing.assert_close(pen(z), published_score(dec, z, "p_row", dropout=False))


def test_anchored_gradient_is_the_fixed_jacobian_gradient():
    # ones row, no dropout: anchored at z0 it is log_det with A held fixed (grad="cpa"),
    # up to the finite-difference error of A
    dec = MLPDecoder().double().requires_grad_(False)
    z0 = torch.randn(5, 3, dtype=torch.float64)
    score = PublishedPenalty(dec, eps=1e-6, dropout=False, extra_row="ones").anchored(
        z0
    )
    exact = sc.ScaLES(dec, grad="cpa")
    torch.testing.assert_close(score(z0), exact.log_det(z0), rtol=1e-5, atol=1e-5)
    z = z0.clone().requires_grad_(True)
    (g_pub,) = torch.autograd.grad(score(z).sum(), z)
    z = z0.clone().requires_grad_(True)
    (g_cpa,) = torch.autograd.grad(exact.log_det(z).sum(), z)
    torch.testing.assert_close(g_pub, g_cpa, rtol=1e-4, atol=1e-4)
    # away from the anchor the Jacobian stays that of z0: the value differs from a
    # freshly anchored one
    z1 = z0 + 0.5
    assert not torch.allclose(score(z1), exact.log_det(z1), rtol=1e-3)


def test_dropout_makes_it_random_and_seeded():
    dec = MLPDecoder(dropout=0.2).double().eval()
    z = torch.randn(3, 3, dtype=torch.float64)
    pen = PublishedPenalty(dec)
    torch.manual_seed(1)
    a = pen(z)
    torch.manual_seed(1)
    b = pen(z)
    c = pen(z)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    assert not dec.training  # the module's mode is restored


def test_ga_anchors_once_per_ascent():
    calls = []

    class Counting(PublishedPenalty):
        def anchored(self, z0):
            calls.append(z0.shape)
            return super().anchored(z0)

    dec = MLPDecoder().double().requires_grad_(False)
    X0 = torch.randn(2, 3, 3, dtype=torch.float64)
    acq = lambda X: -(X - 1).square().sum((-1, -2))  # noqa: E731
    X, _ = gen_candidates_normalized_ga(
        X0, acq, Counting(dec, dropout=False), lam=0.5, lr=0.1, n_steps=4
    )
    assert calls == [torch.Size([6, 3])]
    assert not torch.allclose(X, X0)
    # the penalty moves the ascent: not the plain (lam = 0) path
    plain, _ = gen_candidates_normalized_ga(X0, acq, None, lam=0.0, lr=0.1, n_steps=4)
    assert not torch.allclose(X, plain)
    # and its step is the unit acquisition step plus lam times the unit penalty step
    one, _ = gen_candidates_normalized_ga(
        X0, acq, Counting(dec, dropout=False), lam=0.5, lr=0.1, n_steps=1
    )
    score = Counting(dec, dropout=False).anchored(X0.reshape(-1, 3))
    Z = X0.clone().requires_grad_(True)
    (g_acq,) = torch.autograd.grad(acq(Z).sum(), Z)
    Z = X0.clone().requires_grad_(True)
    (g_pen,) = torch.autograd.grad(score(Z.reshape(-1, 3)).sum(), Z)
    unit = lambda g: g / g.flatten(1).norm(dim=1)[:, None, None]  # noqa: E731
    torch.testing.assert_close(one, X0 + 0.1 * (unit(g_acq) + 0.5 * unit(g_pen)))


def test_method_name():
    m = get_method("scales_pub_0.5")
    assert (m.penalty, m.lam, m.optimizer) == ("published", 0.5, "ga")
    with pytest.raises(ValueError):
        PublishedPenalty(lambda z: z, extra_row="bad")
