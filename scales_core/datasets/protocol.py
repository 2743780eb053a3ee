r"""The contract every VAE of a dataset record meets (:class:`VAE`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from torch import Tensor

__all__ = ["VAE"]


@runtime_checkable
class VAE(Protocol):
    r"""What the experiments, BO and the scores need of a sequence VAE.

    The published character VAEs (:class:`~scales_core.models.CharVAE`) and the
    project's SELFIES transformer (:class:`~scales_core.models.SelfiesVAE`) meet
    it; a user's own model needs only these members to become a dataset record
    (:class:`~scales_core.datasets.Dataset`). A decoder may also offer
    ``logits_and_jacobian(z, positions=None)`` (hand-written forward mode), which
    :func:`scales_core.jacobian.logits_and_jacobian` then uses.

    Attributes:
        latent_dim: The latent size `d`.
        latent_scale: Standard deviation `s` of the prior ``N(0, s^2 I)`` the VAE
            was trained with (``eps_std``; 1 for a standard VAE).
        decoder: Maps a `batch x d` latent tensor to `batch x L x D` logits.

    Example:
        >>> isinstance(models.load_paper_vae("expressions_gru_1"), VAE)  # doctest: +SKIP
        True
    """

    latent_dim: int
    latent_scale: float
    decoder: Callable[[Tensor], Tensor]

    def tokenize(self, strings: Sequence[str]) -> Tensor:
        r"""Map `batch` strings to a `batch x L` long tensor.

        Raises:
            ValueError: for a string the model cannot read (unknown symbols, too
                long); the records use this to drop such items.
        """
        ...

    def encode(self, strings: Sequence[str]) -> Tensor:
        r"""Encoder means of `batch` strings, a `batch x d` tensor."""
        ...

    def decode_strings(self, z: Tensor) -> list[str]:
        r"""Argmax decodes of a `batch x d` latent tensor, `batch` strings."""
        ...
