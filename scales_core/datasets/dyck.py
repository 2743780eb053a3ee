r"""Balanced-bracket (Dyck) words over ``()[]``, a synthetic language made in code.

The demonstration dataset of the chapter "ScaLES for your own VAE": no data file,
a validity rule that is one line of maths, and a VAE small enough to train in a
few minutes. Everything the package knows about the language lives here.

* **Language.** A word over ``( ) [ ]`` is valid (:func:`is_dyck`) when it is
  non-empty and every bracket is closed by its own kind in last-in first-out
  order. There are :math:`C_n k^n` valid words of length :math:`2n` over
  :math:`k` bracket kinds (:func:`count_dyck`, :math:`C_n` the Catalan number).
* **Data.** :func:`generate` draws words uniformly at random among the valid words
  of a half-length drawn uniformly from ``1..max_len/2`` (seeded, deterministic).
  :func:`split_of` assigns every word, by a hash of its text, to ``"train"`` or
  ``"test"`` for all time, so the two never share a word whatever the seeds.
* **Objective.** :func:`depth`, the nesting depth, is the BO task ``dyck_depth``.
* **Model.** A character VAE (:class:`~scales_core.models.CharVAE`) of
  :data:`CHAR_SIZES`, trained by ``python -m scales_core.train --records
  scales_core.datasets.dyck --model char_dyck`` (:data:`TRAINING`); its weights
  ship in ``scales_core/weights/dyck_char/`` with their training record.

:func:`register_records` registers the record :data:`DYCK` and the task
:data:`DYCK_TASK` (the trainer's ``--records`` calls it).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import torch

from ..models.own import WEIGHTS_DIR, load_vae
from ..tasks import Outcome, Task, register_task
from .dataset import BODefaults, Dataset, Training, Validity
from .registry import register

__all__ = [
    "ALPHABET",
    "CHAR_SIZES",
    "DYCK",
    "DYCK_TASK",
    "MAX_LEN",
    "PAIRS",
    "TEST_SHARE",
    "TRAINING",
    "VALIDITY",
    "VOCAB",
    "WEIGHTS",
    "canonical",
    "count_dyck",
    "depth",
    "generate",
    "invalid_reason",
    "is_dyck",
    "items",
    "load_dyck_vae",
    "objective",
    "register_records",
    "split_of",
    "training_strings",
]

#: Closing bracket of each opening one.
PAIRS = {"(": ")", "[": "]"}
#: The symbols of the language.
ALPHABET = ("(", ")", "[", "]")
#: The VAE's symbols in index order; the space pads the end.
VOCAB = (*ALPHABET, " ")
#: Longest word (and the VAE's sequence length `L`).
MAX_LEN = 16
#: One word in ``TEST_SHARE`` (by hash) belongs to the test split.
TEST_SHARE = 10
#: Sizes of the character VAE (:class:`~scales_core.models.CharVAEConfig` fields).
CHAR_SIZES = dict(
    max_len=MAX_LEN,
    latent_dim=8,
    hidden=64,
    num_layers=2,
    conv_channels=(8, 8, 8),
    conv_kernels=(3, 3, 3),
    dropout=0.2,
)
#: Folder of the shipped weights.
WEIGHTS = WEIGHTS_DIR / "dyck_char"
#: Words per requested item of :func:`items` (a split keeps about 9 or 1 in 10).
_POOL = 4


# ------------------------------------------------------------------ the language


def invalid_reason(word: str) -> str | None:
    r"""Why ``word`` is not a non-empty balanced word over ``()[]`` (``None``: valid).

    Args:
        word: A decoded string.

    Returns:
        ``None`` for a valid word, else a short reason naming the first position
        (0-based) where the rule fails.
    """
    if not word:
        return "empty word"
    stack: list[str] = []
    for i, c in enumerate(word):
        if c in PAIRS:
            stack.append(c)
        elif c in PAIRS.values():
            if not stack:
                return f"{c!r} at position {i} closes nothing"
            top = stack.pop()
            if PAIRS[top] != c:
                return f"{c!r} at position {i} closes {top!r}"
        else:
            return f"symbol {c!r} at position {i} is not one of {''.join(ALPHABET)}"
    if stack:
        return f"{len(stack)} bracket(s) left open"
    return None


def is_dyck(word: str) -> bool:
    """Whether ``word`` is a non-empty balanced word over ``()[]``."""
    return invalid_reason(word) is None


def depth(word: str) -> int:
    r"""Nesting depth of a valid word: the largest number of brackets open at once.

    Raises:
        ValueError: for an invalid word (its depth is not defined).
    """
    reason = invalid_reason(word)
    if reason is not None:
        raise ValueError(f"depth of an invalid word {word!r}: {reason}")
    height = best = 0
    for c in word:
        height += 1 if c in PAIRS else -1
        best = max(best, height)
    return best


def count_dyck(n: int, kinds: int = len(PAIRS)) -> int:
    r"""Number of balanced words of length ``2 n`` over ``kinds`` bracket kinds.

    .. math:: C_n k^n = \frac{1}{n + 1}\binom{2n}{n} k^n

    Raises:
        ValueError: for ``n < 0`` or ``kinds < 1``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    if isinstance(kinds, bool) or not isinstance(kinds, int) or kinds < 1:
        raise ValueError(f"kinds must be an int >= 1, got {kinds!r}")
    return math.comb(2 * n, n) // (n + 1) * kinds**n


def _completions(steps: int, height: int) -> int:
    r"""Up/down paths of ``steps`` steps from ``height`` to 0 that never go below 0.

    The ballot numbers: :math:`\binom{m}{u} - \binom{m}{u + h + 1}` with
    :math:`u = (m - h) / 2` up-steps (0 when the parity or the height is wrong).
    """
    if height < 0 or height > steps or (steps - height) % 2:
        return 0
    up = (steps - height) // 2
    return math.comb(steps, up) - (
        math.comb(steps, up + height + 1) if up + height + 1 <= steps else 0
    )


def _uniform_word(half: int, rng: np.random.Generator) -> str:
    """A uniform draw among the ``count_dyck(half)`` words of length ``2 half``."""
    word, stack = [], []
    for i in range(2 * half):
        left = 2 * half - i - 1  # steps after this one
        opens = _completions(left, len(stack) + 1)
        closes = _completions(left, len(stack) - 1) if stack else 0
        if rng.random() * (opens + closes) < opens:
            c = ALPHABET[2 * int(rng.integers(len(PAIRS)))]  # "(" or "["
            stack.append(c)
            word.append(c)
        else:
            word.append(PAIRS[stack.pop()])
    return "".join(word)


def generate(n: int, seed: int, max_len: int = MAX_LEN) -> list[str]:
    r"""``n`` random balanced words of length at most ``max_len`` (seeded).

    The half-length is uniform on ``1..max_len // 2``; given it, the word is uniform
    among the :func:`count_dyck` words of that length. Words may repeat.

    Args:
        n: Number of words.
        seed: Seed of :func:`numpy.random.default_rng`; the same seed gives the
            same words.
        max_len: Longest word (>= 2).

    Returns:
        ``n`` valid words.

    Raises:
        ValueError: for ``n < 0``, a negative seed or ``max_len < 2``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 2:
        raise ValueError(f"max_len must be an int >= 2, got {max_len!r}")
    rng = np.random.default_rng(seed)
    halves = rng.integers(1, max_len // 2 + 1, size=n)
    return [_uniform_word(int(h), rng) for h in halves]


def split_of(word: str) -> str:
    """``"test"`` for one word in :data:`TEST_SHARE`, else ``"train"``.

    Words are assigned by SHA-256 of their text: a fixed partition of all words,
    whatever the seeds.
    """
    digest = hashlib.sha256(word.encode("utf-8")).digest()
    return "test" if int.from_bytes(digest[:4], "big") % TEST_SHARE == 0 else "train"


def objective(word: str) -> Outcome:
    """The BO objective: the nesting depth of a valid word (:func:`depth`)."""
    return Outcome(float(depth(word)), None)


def canonical(word: str) -> str | None:
    """The word itself when valid, else ``None`` (the trainer's prior metrics)."""
    return word if is_dyck(word) else None


# ------------------------------------------------------------------ data loaders


def items(split: str, n: int, seed: int) -> list[str]:
    r"""A seeded pool of words of one split (``"train"`` or ``"test"``).

    About ``_POOL * n`` words are drawn and those of ``split`` are kept (all of
    them when fewer than ``n`` would be left).

    Raises:
        ValueError: for an unknown split.
    """
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")
    size = _POOL * n * (TEST_SHARE if split == "test" else 1)
    return [w for w in generate(size, seed) if split_of(w) == split]


def training_strings(
    n_train: int | None, n_heldout: int, seed: int
) -> tuple[list[str], list[str], dict]:
    r"""Training and held-out words for :mod:`scales_core.train`.

    The two are disjoint by :func:`split_of`; ``n_train=None`` means 50,000.
    """
    n_train = 50_000 if n_train is None else n_train
    train = [w for w in generate(2 * n_train, seed) if split_of(w) == "train"][:n_train]
    held = items("test", n_heldout, seed + 1)[:n_heldout]
    return train, held, {"source": "scales_core.datasets.dyck.generate (synthetic)"}


def load_dyck_vae(name: str, device: str | torch.device = "cpu"):
    """The shipped VAE (``"dyck_char"``) or one saved in a folder by ``save_vae``."""
    return load_vae(WEIGHTS if name == "dyck_char" else Path(name), device)


# ------------------------------------------------------------------ the record

#: Valid means a non-empty balanced word (the dataset's validity notion).
VALIDITY = Validity("balanced", is_dyck)

#: How :mod:`scales_core.train` trains the ``char_dyck`` VAE (:data:`CHAR_SIZES`).
TRAINING = Training(
    kind="char_dyck",
    architecture="char",
    load_strings=training_strings,
    canonical=canonical,
    char_sizes=CHAR_SIZES,
    vocab=lambda: list(VOCAB),
)

#: The record (not registered on import; see :func:`register_records`).
DYCK = Dataset(
    name="dyck",
    model="dyck_char",
    models=("dyck_char",),
    vae_loader=load_dyck_vae,
    validity=VALIDITY,
    objectives=("dyck_depth",),
    items=items,
    bo_pool=lambda n, seed: items("train", n, seed),
    positions=None,
    rho=1.0,
    bo=BODefaults(n_init=100, n_steps=20, q=5, lr=0.5, half_width=3.0),
    latent_scale=1.0,
    training=TRAINING,
    description="balanced brackets over ()[] (synthetic), the project's char VAE",
)

#: The BO task ``dyck_depth``: maximize the nesting depth of a valid word.
DYCK_TASK = Task(
    "dyck_depth",
    "dyck",
    objective,
    invalid_reason,
    "nesting depth of a balanced word over ()[]; valid: balanced",
)


def register_records(replace: bool = True) -> Dataset:
    """Register :data:`DYCK` and :data:`DYCK_TASK` (replacing them by default).

    Returns:
        The record.
    """
    register_task(DYCK_TASK, replace=replace)
    return register(DYCK, replace=replace)
