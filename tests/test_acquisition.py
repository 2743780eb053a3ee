"""The ScaLES penalty inside BoTorch's PenalizedAcquisitionFunction."""

from __future__ import annotations

import pytest
import torch
from botorch.acquisition import PosteriorMean
from botorch.acquisition.penalized import PenalizedAcquisitionFunction
from botorch.models import SingleTaskGP
from conftest import MLPDecoder

import scales_core as sc


def test_penalized_acquisition_adds_lambda_times_score():
    dec = MLPDecoder().double()
    X_train = torch.randn(8, 3, dtype=torch.float64)
    gp = SingleTaskGP(X_train, X_train.sum(-1, keepdim=True))
    acqf = PosteriorMean(gp)
    penalty = sc.ScaLESPenalty(dec, rho=0.5)
    pen = PenalizedAcquisitionFunction(
        acqf, penalty_func=penalty, regularization_parameter=0.3
    )
    X = torch.randn(6, 1, 3, dtype=torch.float64, requires_grad=True)  # b x q x d
    value = pen(X)
    expected = acqf(X) + 0.3 * sc.ScaLES(dec, rho=0.5)(X.squeeze(1))
    torch.testing.assert_close(value, expected)
    value.sum().backward()
    assert X.grad is not None and torch.isfinite(X.grad).all()


@pytest.mark.parametrize("reduction", ["mean", "sum", "min"])
def test_q_batch_reduction(reduction):
    dec = MLPDecoder().double()
    s = sc.ScaLES(dec)
    X = torch.randn(2, 4, 3, dtype=torch.float64)
    per_point = s(X.reshape(-1, 3)).reshape(2, 4)
    expected = {
        "mean": per_point.mean(-1),
        "sum": per_point.sum(-1),
        "min": per_point.amin(-1),
    }
    torch.testing.assert_close(sc.ScorePenalty(s, reduction)(X), -expected[reduction])


def test_penalty_bad_input():
    dec = MLPDecoder().double()
    with pytest.raises(ValueError, match="reduction"):
        sc.ScaLESPenalty(dec, reduction="max")
    with pytest.raises(ValueError, match="batch_shape x q x d"):
        sc.ScaLESPenalty(dec)(torch.randn(3, dtype=torch.float64))
