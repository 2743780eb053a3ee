"""The store of initial latents and their scores (bo/init_store.py)."""

from __future__ import annotations

import pytest
import torch


def test_a_corrupt_init_store_score_is_recomputed(tmp_path):
    from scales_core.bo.init_store import InitStore

    store = InitStore(tmp_path)
    X = torch.randn(4, 2, dtype=torch.float64)
    calls = []

    def score(x):
        calls.append(1)
        return x.sum(-1)

    first = store.scores(X, "s", score)
    (tmp_path / f"{store.key(X)}.s.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.warns(RuntimeWarning, match="cannot be read"):
        again = store.scores(X, "s", score)
    torch.testing.assert_close(first, again)
    assert len(calls) == 2
