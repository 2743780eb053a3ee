"""Normalized gradient ascent (Eq. 15), start points, hypercubes and L-BFGS."""

from __future__ import annotations

import pytest
import torch
from botorch.acquisition.logei import qLogExpectedImprovement
from botorch.models import SingleTaskGP
from botorch.sampling import SobolQMCNormalSampler
from conftest import MLPDecoder

import scales_core as sc
from scales_core.bo import (
    ScoreThresholdStopping,
    gen_candidates_normalized_ga,
    hypercube_bounds,
    initialize_from_data,
    optimize_acqf_ga,
    optimize_acqf_lbfgs,
)

EPS = 1e-9


# two threads on a shared 2-core machine are ~100x slower on these small ops
pytestmark = pytest.mark.usefixtures("one_thread")


def concave(x_star: torch.Tensor):
    """A(X) = -||X - x*||^2 over the q x d entries: `b x q x d` -> `b`."""
    return lambda X: -(X - x_star).square().sum((-1, -2))


def test_ga_reaches_argmax_of_concave_toy():
    # start k steps of length lr from the argmax along a line: the normalized
    # update walks straight there and stops on it
    x_star = torch.tensor([[0.3, -1.2, 2.0]], dtype=torch.float64)
    u = torch.tensor([1.0, 2.0, -2.0], dtype=torch.float64) / 3.0
    lr, k = 0.25, 8
    X0 = (x_star - k * lr * u).reshape(1, 1, 3)
    X, values = gen_candidates_normalized_ga(X0, concave(x_star), lr=lr, n_steps=k)
    torch.testing.assert_close(X[0], x_star, rtol=0, atol=1e-12)
    Xg = X.clone().requires_grad_(True)
    concave(x_star)(Xg).sum().backward()
    assert Xg.grad.norm() < 1e-10  # gradient ~ 0 at the result
    torch.testing.assert_close(values, concave(x_star)(X))


def test_ga_stays_within_one_step_of_argmax():
    x_star = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    X0 = torch.randn(16, 1, 2, dtype=torch.float64) * 3
    lr = 0.1
    X, _ = gen_candidates_normalized_ga(X0, concave(x_star), lr=lr, n_steps=200)
    dist = (X - x_star).flatten(1).norm(dim=-1)
    assert (dist <= lr + EPS).all()


def test_every_step_has_length_lr():
    x_star = torch.zeros(1, 4, dtype=torch.float64)
    X0 = torch.full((3, 1, 4), 10.0, dtype=torch.float64)
    X, _ = gen_candidates_normalized_ga(X0, concave(x_star), lr=0.5, n_steps=3)
    torch.testing.assert_close(
        (X - X0).flatten(1).norm(dim=-1), torch.full((3,), 1.5).double()
    )


def test_batched_equals_per_point_loop():
    x_star = torch.tensor([[0.5, 0.5, 0.5]], dtype=torch.float64)
    dec = MLPDecoder().double()
    penalty = sc.ScaLES(dec, rho=1.0)
    X0 = torch.randn(4, 1, 3, dtype=torch.float64)
    kw = dict(penalty=penalty, lam=0.5, lr=0.2, n_steps=4)
    X, v = gen_candidates_normalized_ga(X0, concave(x_star), **kw)
    for i in range(4):
        Xi, vi = gen_candidates_normalized_ga(X0[i : i + 1], concave(x_star), **kw)
        torch.testing.assert_close(X[i : i + 1], Xi)
        torch.testing.assert_close(v[i : i + 1], vi)


def _toy_logei(d=3, n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, d, generator=g, dtype=torch.float64)
    Y = -(X - 0.3).square().sum(-1, keepdim=True)
    gp = SingleTaskGP(X, Y).eval()
    sampler = SobolQMCNormalSampler(torch.Size([64]), seed=0)
    return qLogExpectedImprovement(gp, best_f=Y.max(), sampler=sampler), X


def test_scales_penalty_moves_points_to_higher_scales():
    torch.manual_seed(1)
    dec = MLPDecoder(scale=3.0).double()
    scales = sc.ScaLES(dec, rho=1.0)
    acq, X_train = _toy_logei()
    X0 = X_train[:, None]  # 12 x 1 x 3
    plain, _ = gen_candidates_normalized_ga(X0, acq, lr=0.3, n_steps=10)
    penal, _ = gen_candidates_normalized_ga(
        X0, acq, penalty=scales, lam=2.0, lr=0.3, n_steps=10
    )
    s_plain, s_pen = scales(plain.squeeze(1)), scales(penal.squeeze(1))
    assert s_pen.mean() > s_plain.mean()
    assert (s_pen > s_plain).float().mean() >= 0.75


def test_stopping_freezes_points_at_last_accepted():
    x_star = torch.tensor([[5.0, 0.0]], dtype=torch.float64)
    X0 = torch.zeros(2, 1, 2, dtype=torch.float64)
    X0[1, 0, 1] = 0.5
    stop = ScoreThresholdStopping(lambda Z: Z[:, 0], threshold=1.0, upper=True)
    X, _ = gen_candidates_normalized_ga(
        X0, concave(x_star), lr=0.3, n_steps=10, stopping=stop
    )
    # the first coordinate never passes the threshold; the last accepted step is kept
    assert (X[..., 0] <= 1.0 + EPS).all() and (X[..., 0] > 1.0 - 0.3 - EPS).all()
    # the accepted updates: 3 steps of 0.3 pass 0.9 < 1, the 4th is rejected
    _, _, accepted = gen_candidates_normalized_ga(
        X0, concave(x_star), lr=0.3, n_steps=10, stopping=stop, return_accepted=True
    )
    assert accepted.tolist() == [3, 3]
    _, _, accepted = gen_candidates_normalized_ga(
        X0, concave(x_star), lr=0.3, n_steps=7, return_accepted=True
    )
    assert accepted.tolist() == [7, 7]
    never = ScoreThresholdStopping(lambda Z: Z[:, 0], threshold=-1.0, upper=True)
    X, _, accepted = optimize_acqf_ga(
        concave(x_star), X0, lr=0.3, n_steps=5, stopping=never, return_accepted=True
    )
    assert accepted == 0 and any(
        torch.equal(X, x0) for x0 in X0
    )  # returned a start point


def test_optimize_acqf_ga_returns_best_restart():
    x_star = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    X0 = torch.tensor([[[3.0, 0.0]], [[0.2, 0.0]]], dtype=torch.float64)
    X, value = optimize_acqf_ga(concave(x_star), X0, lr=0.1, n_steps=1)
    torch.testing.assert_close(X, torch.tensor([[0.1, 0.0]], dtype=torch.float64))
    assert value.dim() == 0


def test_initialize_from_data():
    X = torch.arange(20, dtype=torch.float64).reshape(10, 2)
    Y = torch.tensor([3.0, 9, 1, 7, 0, 0, 0, 0, 0, 8])
    best = initialize_from_data(X, 3, train_Y=Y, strategy="best")
    torch.testing.assert_close(best, X[[1, 9, 3]])
    a = initialize_from_data(X, 4, torch.Generator().manual_seed(0))
    b = initialize_from_data(X, 4, torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)
    assert len({tuple(r.tolist()) for r in a}) == 4
    with pytest.raises(ValueError, match="start"):
        initialize_from_data(X, 11)
    with pytest.raises(ValueError, match="strategy"):
        initialize_from_data(X, 2, strategy="sobol")


def test_hypercube_bounds_centred_at_zero():
    for facet in (1, 5, 25):
        b = hypercube_bounds(4, facet, half_width=3.0, dtype=torch.float64)
        torch.testing.assert_close(b[0], -b[1])
        torch.testing.assert_close(
            b[1], torch.full((4,), 3.0 * facet, dtype=torch.float64)
        )
    with pytest.raises(ValueError, match="positive"):
        hypercube_bounds(2, -1.0)


def test_lbfgs_candidates_inside_bounds():
    acq, X_train = _toy_logei()
    bounds = hypercube_bounds(
        3, 0.05, half_width=3.0, dtype=torch.float64
    )  # [-0.15, 0.15]
    X, value = optimize_acqf_lbfgs(acq, bounds, X_train[:3, None], maxiter=20)
    assert X.shape == (1, 3)
    assert (X >= bounds[0] - EPS).all() and (X <= bounds[1] + EPS).all()
    assert torch.isfinite(value)


def test_ga_bad_arguments():
    x_star = torch.zeros(1, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="b x q x d"):
        gen_candidates_normalized_ga(torch.zeros(2, 2), concave(x_star))
    with pytest.raises(ValueError, match="lam"):
        gen_candidates_normalized_ga(torch.zeros(1, 1, 2), concave(x_star), lam=-1.0)
