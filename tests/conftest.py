"""Shared fixtures: seeds, dtypes and small decoders whose answers are known."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn

# Let a checkout beside ../shared run the data tests without extra set-up.
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "SCALES_DATA_DIR" not in os.environ and _SHARED.is_dir():
    os.environ["SCALES_DATA_DIR"] = str(_SHARED)

TOL = {
    torch.float32: dict(rtol=1e-4, atol=1e-4),
    torch.float64: dict(rtol=1e-8, atol=1e-8),
}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture
def one_thread():
    """Run the test with one torch thread (restored afterwards)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=[torch.float32, torch.float64], ids=["f32", "f64"])
def dtype(request):
    return request.param


def needs_data(*relative: str) -> pytest.MarkDecorator:
    """Skip unless every file is under ``$SCALES_DATA_DIR``."""
    root = os.environ.get("SCALES_DATA_DIR")
    missing = [r for r in relative if root is None or not (Path(root) / r).exists()]
    return pytest.mark.skipif(
        bool(missing),
        reason=f"needs {missing} under $SCALES_DATA_DIR (set it to the data folder)",
    )


def toy_header(**parameters) -> dict:
    return {
        "task": "toy",
        "method": "ga",
        "method_config": {},
        "parameters": parameters,
        "problem": {},
        "seed": 0,
    }


class MLPDecoder(nn.Module):
    """`batch x d` -> tanh MLP -> `batch x L x D` logits (with dropout for tests)."""

    def __init__(self, d=3, L=4, D=5, hidden=16, dropout=0.0, scale=1.0):
        super().__init__()
        self.L, self.D, self.latent_dim = L, D, d
        self.net = nn.Sequential(
            nn.Linear(d, hidden),
            nn.Tanh(),
            nn.Dropout(dropout),
            nn.Linear(hidden, L * D),
        )
        self.scale = scale

    def forward(self, z):
        return self.scale * self.net(z).reshape(z.shape[0], self.L, self.D)


class GRUDecoder(nn.Module):
    """A small ``nn.GRU`` decoder fed the projected latent at every step."""

    def __init__(self, d=3, L=4, D=5, hidden=8):
        super().__init__()
        self.L, self.latent_dim = L, d
        self.project = nn.Linear(d, hidden)
        self.gru = nn.GRU(hidden, hidden, num_layers=2, batch_first=True)
        self.out = nn.Linear(hidden, D)

    def forward(self, z):
        x = self.project(z).unsqueeze(1).expand(-1, self.L, -1)
        # explicit initial state: forward-mode AD through nn.GRU needs it
        h0 = z.new_zeros(self.gru.num_layers, z.shape[0], self.gru.hidden_size)
        return self.out(self.gru(x, h0)[0])


class LinearDecoder(nn.Module):
    """``logits = z @ W^T + b``: the Jacobian is ``W`` everywhere."""

    def __init__(self, W, b, L, D):
        super().__init__()
        self.W, self.b, self.L, self.D = W, b, L, D
        self.latent_dim = W.shape[1]

    def forward(self, z):
        return (z.to(self.W) @ self.W.T + self.b).reshape(z.shape[0], self.L, self.D)


@pytest.fixture
def mlp_decoder():
    return MLPDecoder().double()


@pytest.fixture
def gru_decoder():
    return GRUDecoder().double()


def _assert_names_file_and_fix(message, path, fix):
    assert str(path) in message and fix in message
    assert "weights_only" not in message


#: The smallest SELFIES transformer `python -m scales_core.train` builds (training tests).
TINY_TRANSFORMER = [
    "--d-model",
    "16",
    "--n-heads",
    "2",
    "--enc-layers",
    "1",
    "--dec-layers",
    "1",
    "--latent-dim",
    "8",
    "--n-memory",
    "2",
    "--max-len",
    "20",
]
