r"""Decoder uncertainty (UC) of Notin et al. (2021): MC-dropout mutual information.

For a latent ``z``, ``K`` dropout masks of the decoder play the role of weight
samples ``theta_k`` and give ``K`` logits tensors ``l^k`` (`L x D`). A decoder whose
step logits do not depend on sampled tokens (the published character VAEs feed the
previous step's *softmax* back) defines, per weight sample, the product distribution
``p_k(x) = prod_t Cat(x_t; softmax(l^k_t))``. The score is the mutual information
between the decoded sequence and the weights,

.. math::
    I(x; \theta \mid z) = H\big[\bar p\big] - \tfrac1K \sum_k H[p_k],
    \qquad \bar p = \tfrac1K \sum_k p_k,

which equals ``E_{x ~ p_bar}[KL(w(x) || uniform)]`` with ``w_k(x) = p_k(x) /
sum_j p_j(x)``, the posterior over the weight samples. It is estimated with ``N``
importance samples of sequences drawn from the same ``K`` models (stratified:
sample ``n`` from model ``pi(n mod K)``, ``pi`` a random permutation), so the
estimate is unbiased and lies in ``[0, log K]``. Everything is computed in log
space in float64: sequence probabilities of 120 positions never underflow.

Published thresholds (``uncertainty_thresholds/*.yaml``, 90/95/99/max quantiles
of the training data) are on the ``log I`` scale: ``uncertainty_score(...,
log=True)``; :func:`scales_core.models.paper.load_uncertainty_thresholds`
reads them. Evidence: the SMILES maxima (0.821-0.834 for all six checkpoints) sit
at ``log(log 10) = 0.834``, the ceiling of this estimator with ``K = 10``; the
expressions values are negative. The decoders' dropout rate is not published
(``CharVAEConfig.dropout`` defaults to 0.2, which gives too much uncertainty).
On encoder means of training items: ``smiles_gru_1`` with ``(K, N) = (10, 10)``
matches at dropout 0.10-0.12 (0.72-0.75 / 0.76-0.78 / 0.82 / 0.83 against 0.75 /
0.77 / 0.80 / 0.83); ``expressions_gru_1`` matches at 0.12 only with ``N = 1``
(-4.11 / -3.15 / -2.08 against -4.06 / -3.12 / -1.72 for 90/95/99), while with
``N = 10`` every rate gives a much narrower spread (0.10: -4.09 / -3.80 / -3.33).
``scripts/report_models.py`` recomputes these (``results/model_report.json``).

Random streams. With ``seed`` (or ``generator``) the score is reproducible: the
sequence draws use a ``torch.Generator`` and the dropout masks are drawn under
``torch.random.fork_rng`` with a fixed seed, leaving the global RNG untouched. The
streams are shared by the whole batch (one decoder call on ``K*B`` latents), so
item ``b`` of a batch agrees with the same latent scored alone *in distribution*,
not draw by draw.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import warnings
from collections.abc import Iterator

import torch
from torch import Tensor

from ._checks import Decoder, call_decoder, check_latents, check_logits, module_mode

__all__ = [
    "uncertainty_score",
    "mutual_information_from_logits",
    "exact_mutual_information",
]

_MAX_ENUMERATION = 1_000_000


def _check_logits_stack(logits: Tensor) -> None:
    if not isinstance(logits, Tensor) or logits.dim() != 4:
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits)
        raise ValueError(f"logits must have shape (K, batch, L, D), got {shape}")
    if not torch.isfinite(logits).all():
        raise ValueError("logits have non-finite entries")


def _sequence_log_probs(logp: Tensor, tokens: Tensor) -> Tensor:
    r"""``log p_k(x_n)`` for every weight sample and sequence.

    Args:
        logp: `K x batch x L x D` log-probabilities.
        tokens: `N x batch x L` symbol indices.

    Returns:
        An `N x K x batch` tensor.
    """
    K, B, L, D = logp.shape
    N = tokens.shape[0]
    index = tokens[:, None, :, :, None].expand(N, K, B, L, 1)
    picked = logp.unsqueeze(0).expand(N, K, B, L, D).gather(-1, index)
    return picked.squeeze(-1).sum(-1)


def _posterior_kl(lp: Tensor) -> Tensor:
    r"""``KL(softmax_k(lp) || uniform)`` along dim 1 (`N x K x batch` -> `N x batch`), >= 0."""
    K = lp.shape[1]
    log_w = torch.log_softmax(lp, dim=1)
    kl = (log_w.exp() * (log_w + math.log(K))).sum(1)
    return kl.clamp_min(0.0)


def mutual_information_from_logits(
    logits: Tensor, n_samples: int = 10, generator: torch.Generator | None = None
) -> Tensor:
    r"""Importance-sampling estimate of ``I(x; theta)`` from ``K`` logits tensors.

    Sequence ``n`` is drawn position by position from model ``k(n) = pi(n mod K)``
    for a random permutation ``pi``: every draw is marginally from the mixture
    ``p_bar``, the draws are stratified over the models (one per model when
    ``N = K``), and

    .. math:: \hat I = \frac1N \sum_n
        \mathrm{KL}\big(w(x_n) \,\|\, \mathrm{uniform}\big)
        = \frac1N \sum_n \frac{\tfrac1K \sum_k p_k \log p_k - \bar p \log \bar p}
        {\bar p}(x_n)

    is unbiased for the mutual information of the uniform mixture of the ``K``
    models and lies in ``[0, log K]`` (the importance weight is ``1 / p_bar``, the
    form of Notin et al.).

    Args:
        logits: `K x batch x L x D` logits of ``K`` weight samples.
        n_samples: ``N``, the number of sequences per latent.
        generator: RNG of the sequence draws (its device may differ from ``logits``).

    Returns:
        A `batch` float64 tensor of estimates (nats).
    """
    _check_logits_stack(logits)
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
    K, B, L, D = logits.shape
    N = n_samples
    logp = torch.log_softmax(logits.to(torch.float64), dim=-1)
    gen_device = generator.device if generator is not None else logits.device
    perm = torch.randperm(K, generator=generator, device=gen_device).to(logits.device)
    comp = perm[torch.arange(N, device=logits.device) % K]  # `N`
    u = torch.rand(
        (N, B, L, D), generator=generator, dtype=torch.float64, device=gen_device
    )
    gumbel = -torch.log(-torch.log(u.to(logits.device).clamp_min(1e-300)))
    tokens = (logp[comp] + gumbel).argmax(-1)  # `N x batch x L`, Gumbel-max sampling
    lp = _sequence_log_probs(logp, tokens)  # `N x K x batch`
    return _posterior_kl(lp).mean(0)


def exact_mutual_information(logits: Tensor, weights: Tensor | None = None) -> Tensor:
    r"""``I(x; theta)`` by enumerating all ``D^L`` sequences (small cases, tests).

    Args:
        logits: `K x batch x L x D` logits of ``K`` weight values.
        weights: Optional `K` probabilities of the weight values (uniform if
            ``None``).

    Returns:
        A `batch` float64 tensor.

    Raises:
        ValueError: when ``D^L`` exceeds one million or ``weights`` is not a
            probability vector of length ``K``.
    """
    _check_logits_stack(logits)
    K, B, L, D = logits.shape
    if D**L > _MAX_ENUMERATION:
        raise ValueError(f"D^L = {D}^{L} sequences are too many to enumerate")
    if weights is None:
        log_pi = torch.full((K,), -math.log(K), dtype=torch.float64)
    else:
        weights = torch.as_tensor(weights, dtype=torch.float64)
        if (
            weights.shape != (K,)
            or (weights < 0).any()
            or abs(weights.sum() - 1) > 1e-9
        ):
            raise ValueError(f"weights must be {K} probabilities summing to one")
        log_pi = weights.log()
    log_pi = log_pi.to(logits.device)
    logp = torch.log_softmax(logits.to(torch.float64), dim=-1)
    grid = torch.tensor(
        list(itertools.product(range(D), repeat=L)), device=logits.device
    )
    tokens = grid[:, None, :].expand(-1, B, L)  # `D^L x batch x L`
    lp = _sequence_log_probs(logp, tokens)  # `D^L x K x batch`
    log_mix = torch.logsumexp(lp + log_pi[None, :, None], dim=1)  # `D^L x batch`
    h_mix = -(log_mix.exp() * log_mix).sum(0)
    h_k = -(logp.exp() * logp).sum((-1, -2))  # `K x batch`, entropies of the products
    return (h_mix - (log_pi.exp()[:, None] * h_k).sum(0)).clamp_min(0.0)


def _dropout_mode(decoder: Decoder):
    """Train mode for dropout, eval mode for batch norm; every module's flag restored."""
    return module_mode(decoder, True, batch_norm_eval=True)


@contextlib.contextmanager
def _seeded_dropout(seed: int | None, device: torch.device) -> Iterator[None]:
    """Fix the global RNG of ``device`` (and the CPU) for the block, then restore it."""
    if seed is None:
        yield
        return
    if device.type == "cpu":
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            yield
        return
    devices = list(range(getattr(torch, device.type).device_count()))
    with torch.random.fork_rng(devices=devices, device_type=device.type):
        torch.manual_seed(seed)
        yield


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def uncertainty_score(
    decoder: Decoder,
    z: Tensor,
    n_weights: int = 10,
    n_samples: int = 10,
    *,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    log: bool = False,
    positions: int | None = None,
) -> Tensor:
    r"""Decoder uncertainty: MC-dropout mutual information ``I(x; theta | z)``.

    The decoder runs once on the `(K*batch) x d` batch ``z`` repeated ``K`` times, in
    train mode for its dropout (batch-norm layers stay in eval mode; every module's
    mode is restored afterwards), under ``torch.no_grad``. The decoder's logits
    must not depend on sampled tokens (true of the character VAEs).

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits, with dropout
            active in train mode.
        z: A `batch x d` tensor of latents (any float dtype, any device).
        n_weights: ``K``, dropout weight samples (>= 2).
        n_samples: ``N``, importance samples of sequences per latent (>= 1).
        seed: Makes the score reproducible (dropout masks and sequence draws).
        generator: Alternative to ``seed``: the sequence draws use it and the
            dropout seed is drawn from it.
        log: Return ``log I`` (the scale of the published thresholds files;
            ``-inf`` where ``I = 0``).
        positions: Use only the first ``positions`` positions.

    Returns:
        A `batch` tensor in ``z``'s dtype and device; higher = more uncertain.

    Raises:
        ValueError: for bad latents, counts, decoder output, or both ``seed`` and
            ``generator``.

    Warns:
        UserWarning: when all ``K`` weight samples give the same logits (no active
            dropout): the mutual information is then exactly zero.
    """
    check_latents(z, decoder)
    K = _check_count("n_weights", n_weights, 2)
    N = _check_count("n_samples", n_samples, 1)
    if positions is not None:
        _check_count("positions", positions, 1)
    if seed is not None and generator is not None:
        raise ValueError("pass either seed or generator, not both")
    if seed is not None:
        seed = _check_count("seed", seed, 0)
        generator = torch.Generator(device=z.device).manual_seed(seed)
        dropout_seed: int | None = seed
    elif generator is not None:
        if not isinstance(generator, torch.Generator):
            raise ValueError(
                f"generator must be a torch.Generator, got {type(generator)}"
            )
        draw = torch.randint(2**62, (1,), generator=generator, device=generator.device)
        dropout_seed = int(draw.item())
    else:
        dropout_seed = None
    B = z.shape[0]
    with (
        torch.no_grad(),
        _dropout_mode(decoder),
        _seeded_dropout(dropout_seed, z.device),
    ):
        logits = call_decoder(decoder, z.repeat(K, 1))
    check_logits(logits, K * B)
    logits = logits.reshape(K, B, *logits.shape[1:])[:, :, :positions]
    tol = 64 * torch.finfo(logits.dtype).eps
    if bool(torch.isclose(logits, logits[:1], rtol=tol, atol=tol).all()):
        warnings.warn(
            "all n_weights decoder samples coincide up to rounding (no active "
            "dropout?): the mutual information is zero",
            stacklevel=2,
        )
        mi = torch.zeros(B, dtype=torch.float64, device=z.device)
    else:
        mi = mutual_information_from_logits(logits, N, generator)
    return (mi.log() if log else mi).to(z.dtype)
