"""A user's own VAE and dataset record, outside the package (issue 29 tests).

Words over {a, b}; a float32 MLP decoder that does NOT cast its input (BO hands it
float64 latents: the package must cast at its boundary). Importing this module
registers the record ``user_ab`` and the task ``user_count_a``.
"""

import itertools

import numpy as np
import torch
from torch import nn

from scales_core.datasets import BODefaults, Dataset, Validity, register
from scales_core.tasks import Outcome, Task, register_task

ALPHABET = ("a", "b", " ")
L, D, d = 4, len(ALPHABET), 3
WORDS = ["".join(w) for n in range(1, L + 1) for w in itertools.product("ab", repeat=n)]


class UserVAE(nn.Module):
    latent_dim = d
    latent_scale = 1.0

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.register_buffer("W", torch.randn(L * D, d, generator=g))
        self.decoder = nn.Sequential(
            nn.Linear(d, 16),
            nn.Tanh(),
            nn.Dropout(0.2),
            nn.Linear(16, L * D),
            nn.Unflatten(1, (L, D)),
        )
        with torch.no_grad():
            self.decoder[3].weight.mul_(3.0)

    def tokenize(self, strings):
        rows = [[ALPHABET.index(c) for c in s.ljust(L)] for s in strings]
        return torch.tensor(rows)

    @torch.no_grad()
    def encode(self, strings):
        x = nn.functional.one_hot(self.tokenize(list(strings)), D).float()
        return x.flatten(1) @ self.W / L

    @torch.no_grad()
    def decode_strings(self, z):
        idx = self.decoder(z).argmax(-1)  # no cast: z must already be float32
        return ["".join(ALPHABET[i] for i in row).rstrip() for row in idx.tolist()]


def _valid(text):
    return bool(text) and " " not in text and text.startswith("a")


def _load(name, device="cpu"):
    torch.manual_seed(0)
    return UserVAE()


def _items(split, n, seed):
    order = np.random.default_rng(seed).permutation(len(WORDS))
    half = order[: len(order) // 2] if split == "train" else order[len(order) // 2 :]
    return [WORDS[i] for i in half]


def _pool(n, seed):
    order = np.random.default_rng(seed).permutation(len(WORDS))
    return [WORDS[i] for i in order]


RECORD = register(
    Dataset(
        name="user_ab",
        model="user_mlp",
        models=("user_mlp",),
        vae_loader=_load,
        validity=Validity("starts_with_a", _valid),
        objectives=("user_count_a",),
        items=_items,
        bo_pool=_pool,
        positions=None,
        rho=1.0,
        bo=BODefaults(n_init=12, n_steps=2, q=2, lr=0.5, half_width=3.0),
        description="a user's toy: words over {a, b}",
    )
)
TASK = register_task(
    Task(
        "user_count_a",
        "user",
        lambda s: Outcome(float(s.count("a") - 0.5 * len(s)), None),
        lambda s: None if _valid(s) else "does not start with 'a'",
    )
)
