"""scales_core.density_check: the histogram estimate agrees with the forward formula."""

import torch

from scales_core.density_check import ToyDecoder, extended_output, histogram_check


def test_forward_formula_matches_the_histogram_and_eq13_sits_above_it():
    state = torch.get_rng_state()
    check = histogram_check(
        ToyDecoder(seed=0), n_mc=200_000, cell=0.2, min_count=400, seed=0
    )
    assert torch.equal(state, torch.get_rng_state())  # no global RNG side effect
    assert len(check) > 20
    forward_gap = check["forward"] - check["log estimate"]
    paper_gap = check["paper (Eq. 13)"] - check["log estimate"]
    assert abs(forward_gap.median()) < 0.1 and forward_gap.abs().max() < 0.5
    assert (paper_gap > forward_gap).all() and paper_gap.median() > 0.3


def test_extended_output_is_probabilities_and_normalisers():
    dec = ToyDecoder(L=3, D=4, d=2, seed=1)
    G = extended_output(dec, torch.randn(5, 2, dtype=torch.float64)).reshape(5, 3, 5)
    torch.testing.assert_close(
        G[..., :4].sum(-1), torch.ones(5, 3, dtype=torch.float64)
    )
    logits = dec(torch.zeros(1, 2, dtype=torch.float64))
    torch.testing.assert_close(
        extended_output(dec, torch.zeros(1, 2, dtype=torch.float64)).reshape(1, 3, 5)[
            ..., 4
        ],
        torch.exp(logits).sum(-1),
    )
    assert torch.isfinite(G).all()
