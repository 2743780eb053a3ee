"""The Dyck language of chapter 8: validity rule, depth, generator, splits, record."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from scales_core.datasets import DATASETS, VAE, dyck, get_dataset, unregister
from scales_core.tasks import TASKS, unregister_task


def _all_words(length: int) -> list[str]:
    return ["".join(w) for w in itertools.product(dyck.ALPHABET, repeat=length)]


@pytest.mark.parametrize("n", range(0, 5))
def test_count_matches_enumeration(n):
    # C_n 2^n balanced words of length 2n over two bracket kinds (n = 0: the empty
    # word, which the validity rule refuses)
    valid = sum(dyck.is_dyck(w) for w in _all_words(2 * n))
    assert dyck.count_dyck(n) == (1 if n == 0 else valid)
    assert dyck.count_dyck(n) == math.comb(2 * n, n) // (n + 1) * 2**n
    assert dyck.count_dyck(n, kinds=1) == math.comb(2 * n, n) // (n + 1)  # Catalan


def test_odd_lengths_are_never_valid():
    assert not any(dyck.is_dyck(w) for w in _all_words(3))


@pytest.mark.parametrize(
    "word, reason",
    [
        ("", "empty word"),
        (")(", "')' at position 0 closes nothing"),
        ("(]", "']' at position 1 closes '('"),
        ("([)]", "')' at position 2 closes '['"),
        ("(()", "1 bracket(s) left open"),
        ("(x)", "symbol 'x' at position 1"),
        ("( )", "symbol ' ' at position 1"),
    ],
)
def test_invalid_reasons(word, reason):
    assert reason in dyck.invalid_reason(word)
    assert not dyck.is_dyck(word)


@pytest.mark.parametrize(
    "word, expected",
    [
        ("()", 1),
        ("[]()", 1),
        ("([])", 2),
        ("[()()]", 2),
        ("(([[]]))", 4),
        ("(" * 8 + ")" * 8, 8),
    ],
)
def test_depth(word, expected):
    assert dyck.is_dyck(word) and dyck.invalid_reason(word) is None
    assert dyck.depth(word) == expected
    assert dyck.objective(word) == (float(expected), None)


def test_depth_of_invalid_word_is_an_error():
    with pytest.raises(ValueError, match="depth of an invalid word"):
        dyck.depth("(()")


def test_completions_are_ballot_numbers():
    # paths of m steps from height h to 0 staying >= 0, by brute force
    for m in range(0, 9):
        for h in range(-1, 10):
            brute = 0
            for steps in itertools.product((1, -1), repeat=m):
                heights = list(itertools.accumulate(steps, initial=h))
                brute += min(heights) >= 0 and heights[-1] == 0 and h >= 0
            assert dyck._completions(m, h) == brute, (m, h)


def test_generate_is_seeded_valid_and_bounded():
    words = dyck.generate(300, seed=3)
    assert words == dyck.generate(300, seed=3) and words != dyck.generate(300, seed=4)
    assert all(dyck.is_dyck(w) and len(w) <= dyck.MAX_LEN for w in words)
    assert {len(w) for w in words} == set(range(2, dyck.MAX_LEN + 1, 2))
    assert dyck.generate(0, seed=0) == []
    assert all(len(w) <= 4 for w in dyck.generate(50, seed=0, max_len=5))


def test_generate_is_uniform_given_the_length():
    # half-length 2: the 8 words of length 4 equally often (chi-square, 7 dof)
    rng = np.random.default_rng(0)
    draws = [dyck._uniform_word(2, rng) for _ in range(4000)]
    counts = {w: draws.count(w) for w in set(draws)}
    assert len(counts) == dyck.count_dyck(2) == 8
    chi2 = sum((c - 500) ** 2 / 500 for c in counts.values())
    assert chi2 < 24.3  # the 0.999 quantile of chi-square(7)


@pytest.mark.parametrize(
    "bad",
    [
        dict(n=-1, seed=0),
        dict(n=2, seed=-1),
        dict(n=2, seed=0, max_len=1),
        dict(n=True, seed=0),
    ],
)
def test_generate_refuses_bad_arguments(bad):
    with pytest.raises(ValueError, match="must be an int"):
        dyck.generate(**bad)


def test_splits_are_disjoint_and_fixed():
    train, held, info = dyck.training_strings(2000, 100, seed=0)
    assert len(train) == 2000 and len(held) == 100 and "synthetic" in info["source"]
    assert not set(train) & set(held)
    assert {dyck.split_of(w) for w in train} == {"train"}
    assert {dyck.split_of(w) for w in dyck.items("test", 20, 1)} == {"test"}
    share = sum(dyck.split_of(w) == "test" for w in dyck.generate(5000, 0)) / 5000
    assert 0.05 < share < 0.2  # one word in ten by hash, repeats included
    with pytest.raises(ValueError, match="unknown split"):
        dyck.items("valid", 3, 0)


def test_record_registers_and_loads_the_shipped_vae():
    try:
        record = dyck.register_records()
        assert get_dataset("dyck") is record and TASKS["dyck_depth"] is dyck.DYCK_TASK
        vae = record.load_vae()
        assert isinstance(vae, VAE) and vae.latent_dim == dyck.CHAR_SIZES["latent_dim"]
        assert list(vae.vocab) == list(dyck.VOCAB)
        logits = vae.decoder(torch.zeros(2, vae.latent_dim))
        assert logits.shape == (2, dyck.MAX_LEN, len(dyck.VOCAB))
        words = dyck.items("train", 200, 0)[:200]
        same = sum(a == b for a, b in zip(vae.decode_strings(vae.encode(words)), words))
        assert same / len(words) > 0.25  # the shipped model: 43 % of held-out words
        assert dyck.register_records() is record  # again: replaced, no error
    finally:
        if "dyck" in DATASETS:
            unregister("dyck")
        if "dyck_depth" in TASKS:
            unregister_task("dyck_depth")
