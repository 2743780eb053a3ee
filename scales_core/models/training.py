r"""Helpers of :mod:`scales_core.train`: data, batches, the loss and held-out metrics.

Token tensors are `n x L` long tensors in the model's own format (SELFIES:
symbols, ``<stop>``, ``<pad>`` = 0; char VAEs: characters padded with ``" "``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..tokens import encode as encode_chars
from .char_vae import CharVAE
from .selfies_vae import SelfiesVAE
from .selfies_vocab import SelfiesVocab, to_selfies_tokens

# The per-dataset training data (``load_strings``) live in the dataset records:
# :func:`scales_core.datasets.load_training_strings`.
__all__ = [
    "read_lines",
    "check_disjoint",
    "selfies_tokens",
    "char_tokens",
    "epoch_batches",
    "loss_terms",
    "evaluate",
]

logger = logging.getLogger(__name__)


def read_lines(path: str | Path) -> list[str]:
    """Non-empty stripped lines of a text file (first column if comma separated)."""
    with open(path, encoding="utf-8") as fh:
        lines = [line.strip().split(",")[0] for line in fh if line.strip()]
    return [s for s in lines if s.upper() != "SMILES"]


def check_disjoint(train: Sequence[str], held: Sequence[str]) -> None:
    """Refuse held-out strings that also occur in the training set.

    Strings are compared with whitespace removed.

    Raises:
        ValueError: naming how many held-out items are shared, and a few of them.
    """
    seen = {"".join(s.split()) for s in train}
    shared = sorted({t for t in ("".join(s.split()) for s in held) if t in seen})
    if shared:
        raise ValueError(
            f"the held-out set shares {len(shared)} of its items with the training "
            f"set (e.g. {shared[:3]}); its metrics would be over-optimistic. Use a "
            "held-out file with other items, or omit --heldout-file to hold out the "
            "first --n-heldout lines of --train-file"
        )


def selfies_tokens(
    train: Sequence[str],
    held: Sequence[str],
    max_len: int,
    vocab: SelfiesVocab | None = None,
) -> tuple[SelfiesVocab, Tensor, Tensor]:
    """Vocabulary (from ``train`` unless given) and `n x L` token tensors.

    Molecules with more than ``max_len - 1`` symbols, unencodable SMILES and
    held-out molecules with symbols outside the vocabulary are dropped.
    """
    symbols = [to_selfies_tokens(s) for s in train]
    symbols = [t for t in symbols if t is not None and len(t) <= max_len - 1]
    if vocab is None:
        vocab = SelfiesVocab.build(symbols)
    x_train, _ = vocab.encode(symbols, max_len, drop_bad=True)
    x_held, _ = vocab.encode(list(held), max_len, kind="smiles", drop_bad=True)
    return vocab, x_train, x_held


def char_tokens(strings: Sequence[str], vocab: list[str], max_len: int) -> Tensor:
    """`n x L` indices of strings over a character vocabulary (bad ones dropped).

    Whitespace inside a string is removed; strings longer than ``max_len`` or with
    characters outside ``vocab`` are left out (:func:`scales_core.tokens.encode`).
    """
    index = {c: i for i, c in enumerate(vocab)}
    return encode_chars(
        strings, index, max_len, drop_long=True, compact=True, drop_unknown=True
    )


def epoch_batches(
    tokens: Tensor, batch_size: int, seed: int, epoch: int, pad: int | None
) -> list[Tensor]:
    """Index batches of one epoch, the same for the same ``(seed, epoch)``.

    With ``pad`` (SELFIES), molecules of similar length are grouped (sorted within
    random pools of 50 batches) so that batches can be cut to their longest item.
    """
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    perm = torch.randperm(len(tokens), generator=g)
    if pad is not None:
        lengths = (tokens != pad).sum(1)
        pool = 50 * batch_size
        parts = []
        for chunk in perm.split(pool):
            parts.append(chunk[torch.argsort(lengths[chunk], stable=True)])
        perm = torch.cat(parts)
    batches = list(perm.split(batch_size))
    order = torch.randperm(len(batches), generator=g).tolist()
    return [batches[i] for i in order]


def loss_terms(vae: nn.Module, tokens: Tensor, beta: float) -> dict[str, Tensor]:
    r"""Negative ELBO (per molecule) of a batch and its parts.

    Args:
        vae: A :class:`SelfiesVAE` (teacher forcing) or :class:`CharVAE`.
        tokens: `batch x L` indices.
        beta: KL weight.

    Returns:
        ``loss``, ``recon`` (summed over positions), ``kl`` (summed over latent
        dims), ``token_acc``; batch means, ``loss`` differentiable.
    """
    if isinstance(vae, SelfiesVAE):
        T = int((tokens != 0).sum(1).max())  # the batch's longest item (incl. stop)
        tokens = tokens[:, :T]
    mu, logvar = vae.encoder(tokens)
    noise = vae.latent_scale * torch.randn_like(mu)  # eps_std, as published
    z = mu + noise * torch.exp(0.5 * logvar)
    if isinstance(vae, SelfiesVAE):
        logits = vae.decoder.teacher_forced(z, vae.decoder.shift(tokens))
    else:
        logits = vae.decoder(z)
    nll = F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none").sum(1)
    kl = 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum(1)
    acc = (logits.argmax(-1) == tokens).float().mean()
    recon, kl = nll.mean(), kl.mean()
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl, "token_acc": acc}


def _valid_unique(
    strings: list[str], canonical: Callable[[str], str | None]
) -> tuple[float, float]:
    canon = [c for c in map(canonical, strings) if c is not None]
    valid = len(canon) / max(len(strings), 1)
    unique = len(set(canon)) / max(len(canon), 1)
    return valid, unique


@torch.no_grad()
def evaluate(
    vae: nn.Module,
    held: Tensor,
    n_prior: int = 1000,
    seed: int = 0,
    batch: int = 500,
    canonical: Callable[[str], str | None] | None = None,
) -> dict[str, float]:
    r"""Held-out reconstruction and prior-sample metrics (eval mode).

    ``recon_accuracy``: share of held-out items whose greedy decode of the
    posterior mean equals the input exactly (all `L` positions). ``recon`` and
    ``kl``: the ELBO parts with a posterior sample. ``prior_valid`` and
    ``prior_unique``: share of ``n_prior`` decodes of prior draws that are valid
    (``canonical`` is not ``None``), and share of distinct canonical strings among
    those; NaN without ``canonical``.

    Args:
        vae: The model.
        held: `n x L` held-out tokens.
        n_prior: Prior decodes.
        seed: Seed of the prior draws.
        batch: Rows per call.
        canonical: String -> canonical form, ``None`` when invalid (the dataset
            record's :attr:`Training.canonical
            <scales_core.datasets.Training.canonical>`).
    """
    was_training = vae.training
    vae.eval()
    device = next(vae.parameters()).device
    g = torch.Generator().manual_seed(seed)
    exact, parts = [], {"recon": 0.0, "kl": 0.0, "token_acc": 0.0}
    for chunk in held.split(batch):
        chunk = chunk.to(device)
        mu = vae.encode(chunk)
        decoded = vae.decode_tokens(mu)
        exact.append((decoded == chunk).all(1).cpu())
        for k, v in loss_terms(vae, chunk, 0.0).items():
            if k in parts:
                parts[k] += float(v) * len(chunk) / len(held)
    z = vae.latent_scale * torch.randn(n_prior, vae.latent_dim, generator=g)
    strings = [s for c in z.split(batch) for s in vae.decode_strings(c)]
    nan = float("nan")
    valid, unique = (
        (nan, nan) if canonical is None else _valid_unique(strings, canonical)
    )
    vae.train(was_training)
    metrics = {"recon_accuracy": float(torch.cat(exact).float().mean()), **parts}
    metrics.update(
        n_heldout=len(held), prior_valid=valid, prior_unique=unique, n_prior=n_prior
    )
    if isinstance(vae, CharVAE):
        metrics["note"] = "char VAE: argmax decoding of all L positions"
    return metrics
