r"""The scores the two published code releases compute, for comparison only.

Two releases of OmerRonen/scales compute two different scores, and neither is
:class:`scales_core.ScaLES`'s exact Eq. 13 as such:

* **first** (commit 811cd8f, 2024-06-16; the release whose BO code wrote the
  paper's B tables). ``scales/utils/scales.py``, ``calculate_scales`` and
  ``calculate_det_grad``: the pinv formula of Eq. 13 with Thm 3.1's ``1/c`` row
  (as :func:`scales_core.logdet.log_det_paper`), ``A`` by forward finite differences
  (``net_derivative``, option 4, step ``1e-4``) in eval mode, on the first 30
  positions of the SMILES GRU and 60 otherwise, plus ``-|z|^2 / 2`` (no
  normalising constant): ``-|z|^2/2 + tau * 1/2 logdet(P W P^T)``. Its BO gradient
  (``calculate_scales_derivative``) holds ``A`` fixed and clamps the logits to
  ``+-12`` (``thres=12``) before the softmax: :func:`first_release_gradient`.
* **later** (commit 152b0f1, 2025). ``les/utils/les.py``, ``LES.forward``: the
  *forward* formula ``-1/2 logdet(J^T J)`` with ``J`` the Jacobian of
  ``(p_1, 1/c_1, ..., p_L, 1/c_L)`` (``SoftMax.jacobian_full``: the extra row is
  ``-exp(l)/c^2 = -p/c``), over every position the decoder emits, ``A`` by forward
  differences with the decoder in train mode (dropout on: random from call to
  call), no prior term.

``release="p_row"`` keeps the project's earlier reading of the published code
(the pinv formula with the row ``p_i / c_i``, dropout on, no prior), which is
*neither* release; the stored ``scales_pub_*`` runs used it.

It also holds literal float64 implementations of Eq. 13 and of the forward formula
(:func:`naive_paper_score`, :func:`naive_forward_score`) with explicit pseudo-inverses
and block matrices: the baselines for tests and timings.

Use :class:`scales_core.ScaLES` for the exact score; ``ScaLES(formula="forward",
normalizer="inv_c")`` is the later release's formula computed exactly.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._checks import Decoder, call_decoder, check_latents, check_logits, module_mode
from .logdet import clip_logits, log_det_forward, log_det_pinv

__all__ = [
    "RELEASES",
    "FIRST_RELEASE_CLIP",
    "decoder_mode",
    "first_release_positions",
    "first_release_gradient",
    "published_jacobian",
    "published_score",
    "naive_paper_score",
    "naive_forward_score",
]

#: The published code releases :func:`published_score` computes (see the notes).
RELEASES = ("first", "later", "p_row")

#: The first release's logit clamp in its penalty gradient (``thres=12``).
FIRST_RELEASE_CLIP = 12.0


def first_release_positions(L: int, latent_dim: int) -> int:
    """The positions the first release scores: 30 for the SMILES GRU, else 60.

    ``scales/utils/scales.py``: ``EFFECTIVE_SEQ_LENGTH_RNN = 30`` for a
    ``DecoderRNNGRU`` of latent size 56 (the SMILES VAE), ``60`` otherwise, never
    more than the decoder's ``L``.
    """
    return min(L, 30 if latent_dim == 56 else 60)


def decoder_mode(decoder: Decoder, train: bool):
    """Put a module decoder in train (``True``) or eval mode, every flag restored on exit.

    A plain function (no ``train`` method) is left as it is
    (:func:`scales_core._checks.module_mode`).
    """
    return module_mode(decoder, train)


def published_jacobian(
    decoder: Decoder,
    z: Tensor,
    eps: float = 1e-4,
    dropout: bool = True,
    positions: int | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Logits and the forward finite-difference Jacobian, as the published code.

    One batched, gradient-free call of `batch (d + 1)` latents, with the decoder in
    train mode when ``dropout`` (each row draws its own dropout masks).

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits.
        z: A `batch x d` tensor.
        eps: Finite-difference step.
        dropout: Train mode (as published) or eval mode.
        positions: Keep only the first ``positions`` positions.

    Returns:
        ``(logits, A)``: `batch x K x D` and `batch x (K*D) x d` (``K`` = positions).
    """
    check_latents(z, decoder)
    B, d = z.shape
    steps = torch.cat([z.new_zeros(1, d), eps * torch.eye(d).to(z)])
    zz = (z.detach()[:, None, :] + steps).reshape(B * (d + 1), d)
    with torch.no_grad(), decoder_mode(decoder, dropout):
        # a causal decoder that takes ``positions`` stops there (the same logits in eval
        # mode, bitwise on one thread; with dropout on, fewer masks are drawn)
        out = call_decoder(decoder, zz, positions)
    check_logits(out, B * (d + 1))
    out = out.reshape(B, d + 1, *out.shape[1:])
    logits = out[:, 0]
    # A: `batch x (L*D) x d`
    A = ((out[:, 1:] - out[:, :1]) / eps).flatten(2).transpose(1, 2)
    if positions is not None:
        logits, A = logits[:, :positions], A[:, : positions * logits.shape[-1]]
    return logits, A


def published_score(
    decoder: Decoder,
    z: Tensor,
    release: str = "later",
    rho: float = 1.0,
    eps: float = 1e-4,
    dropout: bool | None = None,
    positions: int | None = None,
    arithmetic: str = "float64",
) -> Tensor:
    r"""The score value as a published code release computes it.

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits.
        z: A `batch x d` tensor.
        release: ``"later"`` (``LES.forward``), ``"first"`` (``calculate_scales``)
            or ``"p_row"`` (neither; see the module notes).
        rho: Weight of the log-determinant (the first release's ``tau``).
        eps: Finite-difference step.
        dropout: Decoder in train mode while ``A`` and the logits are computed;
            default: as the release does (later, p_row: on; first: off).
        positions: Leading positions; default: as the release does (later,
            p_row: all; first: :func:`first_release_positions`).
        arithmetic: ``"float64"`` (the log-det of the finite-difference ``A`` in
            float64, QR-based) or ``"float32"`` (later release only: ``J^T J`` and
            its singular values in float32, as ``LES.forward`` computes them; the
            smallest singular values of ``J^T J`` then carry float32 round-off,
            which moves the SMILES values by tens of nats).

    Returns:
        A `batch` tensor in ``z``'s dtype: later ``-rho/2 logdet(J^T J)``, first
        ``-|z|^2/2 + rho/2 logdet(P W P^T)``, p_row ``rho/2 logdet(P W P^T)`` with
        the ``p/c`` row. Random where dropout is on.

    Raises:
        ValueError: for an unknown release or bad ``z``.
    """
    if release not in RELEASES:
        raise ValueError(f"unknown release {release!r}; use one of {RELEASES}")
    check_latents(z, decoder)
    if dropout is None:
        dropout = release != "first"
    if positions is None and release == "first":
        L = decoder_output_length(decoder, z)
        positions = first_release_positions(L, z.shape[-1])
    if arithmetic not in ("float64", "float32"):
        raise ValueError(
            f"arithmetic must be 'float64' or 'float32', got {arithmetic!r}"
        )
    if arithmetic == "float32" and release != "later":
        raise ValueError("arithmetic='float32' replays the later release only")
    logits, A = published_jacobian(decoder, z, eps, dropout, positions)
    if release == "later" and arithmetic == "float32":
        value = _later_float32(logits, A)
    elif release == "later":
        value = log_det_forward(logits, A, normalizer="inv_c")
    elif release == "first":
        value = log_det_pinv(logits, A, extra_row="ones")
    else:
        value = log_det_pinv(logits, A, extra_row="p")
    out = rho * value
    if release == "first":
        out = out - 0.5 * z.detach().to(out.dtype).square().sum(-1)
    return out.to(z.dtype)


def _later_float32(logits: Tensor, A: Tensor) -> Tensor:
    r"""``-1/2 sum log svd(J^T J)`` in float32, ``J`` with the ``-p/c`` rows.

    Args:
        logits: `batch x L x D`.
        A: `batch x (L*D) x d`.

    Returns:
        A `batch` float32 tensor.
    """
    lg = logits.float()
    B, L, D = lg.shape
    A4 = A.float().reshape(B, L, D, -1)
    p = torch.softmax(lg, -1)
    # soft: `batch x L x D x D`
    soft = torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)
    inv_c = -(torch.exp(lg) / torch.exp(lg).sum(-1, keepdim=True) ** 2).unsqueeze(-2)
    F = torch.cat([soft, inv_c], dim=-2)  # `batch x L x (D+1) x D`
    J = (F @ A4).reshape(B, L * (D + 1), -1)
    s = torch.linalg.svdvals(J.transpose(1, 2) @ J)
    return -0.5 * torch.log(s).sum(-1)


def decoder_output_length(decoder: Decoder, z: Tensor) -> int:
    """The sequence length `L` of the decoder's logits (one gradient-free call)."""
    with torch.no_grad():
        return call_decoder(decoder, z[:1].detach()).shape[1]


def first_release_gradient(
    decoder: Decoder,
    z: Tensor,
    tau: float = 1.0,
    positions: int | None = None,
    logit_clip: float | None = FIRST_RELEASE_CLIP,
    eps: float = 1e-4,
) -> Tensor:
    r"""The first release's penalty gradient, ``d/dz [-|z|^2/2 + tau * log_det]``.

    ``scales/utils/scales.py``, ``calculate_scales_derivative``: ``A`` by forward
    differences in eval mode at ``z`` and held fixed (only the logits move), the
    logits clamped to ``+-logit_clip`` before the softmax with the clamp's
    derivative passed through (the release multiplies ``A`` by the softmax
    derivative at the clamped probabilities), the pinv formula with the ``1/c``
    row, on ``positions`` positions (default :func:`first_release_positions`).
    Computed by autograd in float64, not by the release's hand-written loop.

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits.
        z: A `batch x d` tensor.
        tau: Weight of the log-determinant (1 expressions, 0.001 SMILES, 0.003
            SELFIES in the release's ``scales/analysis/bo.py``, ``get_params``).
        positions: Leading positions.
        logit_clip: The clamp (``None``: none).
        eps: Finite-difference step.

    Returns:
        A `batch x d` tensor in ``z``'s dtype.
    """
    check_latents(z, decoder)
    if positions is None:
        positions = first_release_positions(
            decoder_output_length(decoder, z), z.shape[-1]
        )
    _, A = published_jacobian(decoder, z, eps, False, positions)
    x = z.detach().clone().requires_grad_(True)
    with decoder_mode(decoder, False), torch.enable_grad():
        logits = call_decoder(decoder, x)[:, :positions]
        logits = clip_logits(logits, logit_clip)
        value = tau * log_det_pinv(logits, A.to(torch.float64), extra_row="ones")
        value = value - 0.5 * x.to(torch.float64).square().sum(-1)
        (grad,) = torch.autograd.grad(value.sum(), x)
    return grad.to(z.dtype)


def _item_jacobian(
    decoder: Decoder, zi: Tensor, positions: int | None = None
) -> tuple[Tensor, Tensor]:
    """Logits `K x D` and the reverse-mode Jacobian `(K*D) x d` of one latent."""

    def flat(x: Tensor) -> Tensor:
        return decoder(x[None])[0, :positions].reshape(-1)

    A = torch.autograd.functional.jacobian(flat, zi, vectorize=True)
    return decoder(zi[None])[0, :positions], A


def naive_paper_score(
    decoder: Decoder, z: Tensor, rho: float = 1.0, positions: int | None = None
) -> Tensor:
    r"""Eq. 13 written literally, in float64, one latent at a time.

    Full reverse-mode Jacobian, explicit ``pinv(A)``, explicit blocks
    ``B_i = [diag(1/p_i); 1^T / c_i]`` and ``M = sum_i P_i B_i^T B_i P_i^T``. Slow and
    fragile (``1/p`` overflows for confident positions); the baseline that the
    tests and the timing chapter compare :class:`scales_core.ScaLES` with.

    Args:
        decoder: Maps `batch x d` to `batch x L x D` logits.
        z: A `batch x d` tensor.
        rho: Weight of the log-determinant.
        positions: Use only the first ``positions`` positions.

    Returns:
        A `batch` float64 tensor.
    """
    check_latents(z, decoder)
    out = []
    for zi in z.to(torch.float64):
        logits, A = _item_jacobian(decoder, zi, positions)
        logits, A = logits.to(torch.float64), A.to(torch.float64)
        K, D = logits.shape
        P = torch.linalg.pinv(A)  # `d x (K*D)`
        p = torch.softmax(logits, -1)
        c = torch.exp(logits).sum(-1)
        d = zi.shape[0]
        M = torch.zeros(d, d, dtype=torch.float64, device=z.device)
        for i in range(K):
            Pi = P[:, i * D : (i + 1) * D]  # `d x D`
            ones = torch.ones(1, D, dtype=torch.float64, device=z.device)
            Bi = torch.cat([torch.diag(1 / p[i]), ones / c[i]], 0)  # `(D+1) x D`
            M = M + Pi @ Bi.T @ Bi @ Pi.T
        prior = -0.5 * zi.square().sum() - 0.5 * d * math.log(2 * math.pi)
        out.append(prior + rho * 0.5 * torch.logdet(M))
    return torch.stack(out)


def naive_forward_score(
    decoder: Decoder, z: Tensor, rho: float = 1.0, normalizer: str = "c"
) -> Tensor:
    r"""The forward formula written literally: ``J = blockdiag(F_i) A`` built in full.

    ``F_i = [diag(p_i) - p_i p_i^T; c_i p_i^T]`` (``normalizer="c"``) or
    ``[diag(p_i) - p_i p_i^T; -p_i^T / c_i]`` (``"inv_c"``: the derivative of
    ``1/c_i``, as the later release's ``SoftMax.jacobian_full``) and the score is
    ``log N(z) - rho/2 logdet(J^T J)``, in float64, one latent at a time.
    """
    check_latents(z, decoder)
    out = []
    for zi in z.to(torch.float64):
        logits, A = _item_jacobian(decoder, zi)
        logits, A = logits.to(torch.float64), A.to(torch.float64)
        p = torch.softmax(logits, -1)
        c = torch.exp(logits).sum(-1)
        extra = (
            (lambda pi, ci: ci * pi) if normalizer == "c" else (lambda pi, ci: -pi / ci)
        )
        blocks = [
            torch.cat([torch.diag(pi) - torch.outer(pi, pi), extra(pi, ci)[None]], 0)
            for pi, ci in zip(p, c)
        ]
        J = torch.block_diag(*blocks) @ A  # (L*(D+1), d)
        d = zi.shape[0]
        prior = -0.5 * zi.square().sum() - 0.5 * d * math.log(2 * math.pi)
        out.append(prior - rho * 0.5 * torch.logdet(J.T @ J))
    return torch.stack(out)
