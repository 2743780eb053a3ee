"""GP surrogates: fit, warm start, determinism, deep kernel, bad input."""

from __future__ import annotations

import pytest
import torch
from botorch.acquisition.logei import qLogExpectedImprovement
from botorch.sampling import SobolQMCNormalSampler
from gpytorch.mlls import ExactMarginalLogLikelihood

from scales_core.bo import (
    SurrogateConfig,
    fit_surrogate,
    hypercube_bounds,
    surrogate_state,
)

# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


def data(n=40, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    Y = (
        torch.sin(2 * X[:, :1])
        + 0.1 * X[:, 1:2] ** 2
        + 0.05 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    )
    return X, Y, hypercube_bounds(d, 1.0, 3.0, dtype=torch.float64)


def mll_value(model):
    model.train()
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    with torch.no_grad():
        value = mll(model(*model.train_inputs), model.train_targets).item()
    model.eval()
    return value


def test_fit_is_deterministic_and_improves_mll():
    X, Y, b = data()
    m1 = fit_surrogate(X, Y, b, SurrogateConfig(maxiter_cold=30))
    m2 = fit_surrogate(X, Y, b, SurrogateConfig(maxiter_cold=30))
    s1, s2 = surrogate_state(m1), surrogate_state(m2)
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    start = fit_surrogate(X, Y, b, SurrogateConfig(), state=None, fit=False)
    assert mll_value(m1) > mll_value(start)
    assert not m1.training


def test_warm_start_loads_state():
    X, Y, b = data()
    model = fit_surrogate(X, Y, b, SurrogateConfig(maxiter_cold=30))
    state = surrogate_state(model)
    rebuilt = fit_surrogate(X, Y, b, state=state, fit=False)
    Xt = torch.randn(5, 4, dtype=torch.float64)
    torch.testing.assert_close(rebuilt.posterior(Xt).mean, model.posterior(Xt).mean)
    # one more batch of data: a warm start needs few iterations to match a long fit
    X2, Y2, _ = data(n=45)
    short = SurrogateConfig(maxiter=5, maxiter_cold=5)
    warm = fit_surrogate(X2, Y2, b, short, state=state)
    cold = fit_surrogate(X2, Y2, b, short)
    long = fit_surrogate(X2, Y2, b, SurrogateConfig(maxiter_cold=200))
    assert (
        abs(mll_value(warm) - mll_value(long))
        <= abs(mll_value(cold) - mll_value(long)) + 1e-9
    )


# a 3-feature kernel on 40 points is near-singular: Cholesky jitter is expected
@pytest.mark.filterwarnings("ignore:A not p.d.")
def test_deep_kernel_fits_and_supports_logei():
    X, Y, b = data(d=6)
    config = SurrogateConfig(
        kind="deep_kernel", adam_steps_cold=30, hidden=(16,), features=3
    )
    start = fit_surrogate(X, Y, b, config, state=None, fit=False)
    model = fit_surrogate(X, Y, b, config)
    assert mll_value(model) > mll_value(start)
    acq = qLogExpectedImprovement(
        model,
        Y.max(),
        sampler=SobolQMCNormalSampler(torch.Size([8]), seed=0),
        X_pending=X[:2],
    )
    Xq = X[:3, None].clone().requires_grad_(True)
    acq(Xq).sum().backward()
    assert torch.isfinite(Xq.grad).all()
    again = fit_surrogate(X, Y, b, config, state=surrogate_state(model), fit=False)
    torch.testing.assert_close(again.posterior(X[:4]).mean, model.posterior(X[:4]).mean)


def test_bad_input():
    X, Y, b = data()
    with pytest.raises(ValueError, match="train_Y"):
        fit_surrogate(X, Y[:-1], b)
    with pytest.raises(ValueError, match="finite"):
        fit_surrogate(X, torch.full_like(Y, float("nan")), b)
    with pytest.raises(ValueError, match="bounds"):
        fit_surrogate(X, Y, b.flip(0))
    with pytest.raises(ValueError, match="kind"):
        SurrogateConfig(kind="svgp")
    with pytest.raises(ValueError, match="maxiter"):
        SurrogateConfig(maxiter=0)
    with pytest.raises(ValueError, match="warm-start"):
        fit_surrogate(X, Y, b, state={"nope": torch.zeros(1)})
