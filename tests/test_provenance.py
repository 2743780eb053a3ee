"""Provenance of results (provenance.py)."""

from __future__ import annotations

import pytest

# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


def test_provenance_records_the_commit_the_code_was_loaded_from(monkeypatch):
    import scales_core.provenance as prov

    first = prov.provenance({}, 0)["commit"]
    # the checkout moves on (another commit); this process still runs the old code
    monkeypatch.setattr(prov, "git_commit", lambda cwd=None: "moved-on")
    assert prov.provenance({}, 0)["commit"] == first == prov.loaded_commit()
