"""The checks every score makes (_checks.py): decoder modes are restored, low-
precision logits and autocast are refused."""

from __future__ import annotations

import threading

import pytest
import torch
from conftest import MLPDecoder

import scales_core as sc
import scales_core.reference  # noqa: F401 (sc.reference below)


def test_every_submodule_mode_is_restored():
    dec = MLPDecoder(dropout=0.3).double()
    dec.eval()
    dec.net[2].train()  # MC dropout on one layer only
    z = torch.randn(3, 3, dtype=torch.float64)
    sc.ScaLES(dec)(z)
    sc.reference.published_score(dec, z, "later")
    sc.likelihood_score(dec, z)
    assert not dec.training and dec.net[2].training and not dec.net[0].training


def test_threads_sharing_a_train_mode_decoder_leave_it_in_train_mode():
    dec = MLPDecoder(dropout=0.3).double().train()
    z = torch.randn(4, 3, dtype=torch.float64)
    errors = []

    def work():
        try:
            for _ in range(5):
                sc.ScaLES(dec)(z)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(m.training for m in dec.modules())


class Half(torch.nn.Module):
    def __init__(self, dtype):
        super().__init__()
        self.inner, self.dtype, self.latent_dim = MLPDecoder(), dtype, 3

    def forward(self, z):
        return self.inner(z.float()).to(self.dtype)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int32])
@pytest.mark.parametrize("jacobian", ["forward", "fd"])
def test_low_precision_logits_are_refused(dtype, jacobian):
    z = torch.randn(2, 3)
    with pytest.raises(ValueError, match="float32 or float64"):
        sc.ScaLES(Half(dtype), jacobian=jacobian)(z)


@pytest.mark.parametrize("jacobian", ["forward", "fd"])
def test_autocast_is_refused(jacobian):
    dec = MLPDecoder()
    z = torch.randn(2, 3)
    with (
        torch.autocast("cpu", dtype=torch.bfloat16),
        pytest.raises(ValueError, match="autocast"),
    ):
        sc.ScaLES(dec, jacobian=jacobian)(z)
    assert sc.ScaLES(dec, jacobian=jacobian)(z).isfinite().all()  # fine outside it
