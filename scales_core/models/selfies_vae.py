r"""SELFIES transformer VAE in the spirit of LOL-BO (Maus et al. 2022).

Encoder: token + position embeddings, ``M`` learned query tokens prepended, a
pre-norm transformer encoder; the ``M`` query outputs, flattened, give ``mu`` and
``logvar`` (`d` each).

Decoder: ``z`` is mapped to ``M`` memory tokens that prefix the token sequence
``[<start>, t_1, ..., t_{L-1}]`` of a causal transformer (every position sees the
whole memory); position ``t`` predicts ``t_{t+1}``.

``decoder(z)`` (the map the ScaLES score differentiates) is defined in two steps:
greedy decoding from ``z.detach()`` under ``no_grad`` (with a KV cache; after
``<stop>`` only ``<pad>`` follows), then one teacher-forced causal pass over those
tokens, whose `batch x L x D` logits are a smooth, deterministic function of ``z``
(the tokens being locally constant). Attention is plain ``matmul``/``softmax`` so
forward-mode AD (``torch.func.jvp``) runs through it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._inputs import check_decode_latents, decoded_positions, encode_input
from .selfies_jvp import teacher_forced_jvp
from .selfies_vocab import SelfiesVocab

__all__ = ["SelfiesVAEConfig", "SelfiesEncoder", "SelfiesDecoder", "SelfiesVAE"]


@dataclass(frozen=True)
class SelfiesVAEConfig:
    """Sizes of a SELFIES transformer VAE.

    Attributes:
        vocab_size: `D` (specials included).
        max_len: `L`, decoder positions (symbols, ``<stop>``, padding).
        latent_dim: `d`.
        d_model: Transformer width.
        n_heads: Attention heads.
        enc_layers: Encoder blocks.
        dec_layers: Decoder blocks.
        ff_mult: Feed-forward width as a multiple of ``d_model``.
        n_memory: `M`, latent tokens (encoder queries and decoder memory).
        dropout: Dropout in train mode (attention and feed-forward outputs).
        latent_scale: Factor on the reparametrization noise and prior samples
            (1: a standard ``N(0, I)`` prior; see
            :attr:`scales_core.models.char_vae.CharVAEConfig.latent_scale`).
    """

    vocab_size: int
    max_len: int = 70
    latent_dim: int = 256
    d_model: int = 128
    n_heads: int = 4
    enc_layers: int = 2
    dec_layers: int = 3
    ff_mult: int = 4
    n_memory: int = 4
    dropout: float = 0.0
    latent_scale: float = 1.0

    def to_dict(self) -> dict:
        """Plain dict (for JSON)."""
        return asdict(self)


class Block(nn.Module):
    """Pre-norm transformer block: self-attention and a GELU feed-forward."""

    def __init__(self, cfg: SelfiesVAEConfig) -> None:
        super().__init__()
        m = cfg.d_model
        self.h, self.p = cfg.n_heads, cfg.dropout
        self.norm1, self.norm2 = nn.LayerNorm(m), nn.LayerNorm(m)
        self.qkv = nn.Linear(m, 3 * m)
        self.proj = nn.Linear(m, m)
        self.ff1 = nn.Linear(m, cfg.ff_mult * m)
        self.ff2 = nn.Linear(cfg.ff_mult * m, m)

    def _heads(self, x: Tensor) -> Tensor:  # `batch x T x m` -> `batch x h x T x m/h`
        B, T, m = x.shape
        return x.reshape(B, T, self.h, m // self.h).transpose(1, 2)

    def forward(
        self, x: Tensor, mask: Tensor | None, cache: list[Tensor] | None = None
    ) -> Tensor:
        r"""One block.

        Args:
            x: `batch x T x m` inputs (with a cache: the new positions only).
            mask: Additive attention mask broadcastable to `batch x h x T x T_all`.
            cache: ``[K, V]`` of earlier positions (`batch x h x T0 x m/h`), extended
                in place; ``None`` for a full pass.

        Returns:
            `batch x T x m` outputs.
        """
        drop = self.p if self.training else 0.0
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        q, k, v = self._heads(q), self._heads(k), self._heads(v)
        if cache is not None:
            if cache:
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
            cache[:] = [k, v]
        att = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if mask is not None:
            att = att + mask
        y = (torch.softmax(att, dim=-1) @ v).transpose(1, 2).flatten(2)
        x = x + F.dropout(self.proj(y), drop, self.training)
        h = self.ff2(F.gelu(self.ff1(self.norm2(x))))
        return x + F.dropout(h, drop, self.training)


class SelfiesEncoder(nn.Module):
    """Token indices `batch x T` -> ``(mu, logvar)``, each `batch x d`."""

    def __init__(self, cfg: SelfiesVAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        m = cfg.d_model
        self.embed = nn.Embedding(cfg.vocab_size, m)
        self.pos = nn.Embedding(cfg.max_len, m)
        self.queries = nn.Parameter(0.02 * torch.randn(cfg.n_memory, m))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.enc_layers))
        self.norm = nn.LayerNorm(m)
        self.to_stats = nn.Linear(cfg.n_memory * m, 2 * cfg.latent_dim)

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        r"""Encode `batch x T` indices (padding index 0 is masked out)."""
        B, T = tokens.shape
        x = self.embed(tokens) + self.pos.weight[:T]
        x = torch.cat([self.queries.expand(B, -1, -1), x], 1)
        keep = torch.cat([tokens.new_ones(B, self.cfg.n_memory), tokens], 1) != 0
        mask = torch.zeros(keep.shape, dtype=x.dtype, device=x.device)
        mask = mask.masked_fill(~keep, float("-inf"))[:, None, None, :]
        for block in self.blocks:
            x = block(x, mask)
        stats = self.to_stats(self.norm(x[:, : self.cfg.n_memory]).flatten(1))
        mu, logvar = stats.chunk(2, dim=-1)
        return mu, logvar


class SelfiesDecoder(nn.Module):
    """Latents `batch x d` -> logits `batch x L x D` (see the module docstring)."""

    #: Rows per :class:`~scales_core.ScaLES` chunk (``chunk_size="auto"``). On one CPU
    #: thread the forward-mode Jacobian of this decoder (256 tangents through 60
    #: positions of attention) is memory-bound: a row at a time took 0.61 s per point
    #: for the value and 2.3 s with the gradient, 12 rows 0.95 s and 3.7 s.
    scales_chunk_sizes = {"cpu": 1, "cuda": 128}

    def __init__(self, cfg: SelfiesVAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        m = cfg.d_model
        self.to_memory = nn.Linear(cfg.latent_dim, cfg.n_memory * m)
        self.embed = nn.Embedding(cfg.vocab_size, m)
        self.pos = nn.Embedding(cfg.max_len, m)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.dec_layers))
        self.norm = nn.LayerNorm(m)
        self.out = nn.Linear(m, cfg.vocab_size)

    @property
    def latent_dim(self) -> int:
        """The latent size `d`."""
        return self.cfg.latent_dim

    def memory(self, z: Tensor) -> Tensor:
        """Memory tokens, `batch x d` -> `batch x M x m`."""
        z = z.to(self.to_memory.weight)
        return self.to_memory(z).reshape(z.shape[0], self.cfg.n_memory, -1)

    def _mask(self, T: int, like: Tensor) -> Tensor:
        """Additive mask: memory is visible to all, tokens causally (`M+T` square)."""
        M = self.cfg.n_memory
        i = torch.arange(M + T, device=like.device)
        ok = (i[None, :] < M) | (i[None, :] <= i[:, None])
        return torch.zeros(ok.shape, dtype=like.dtype, device=like.device).masked_fill(
            ~ok, float("-inf")
        )

    def teacher_forced(self, z: Tensor, inputs: Tensor) -> Tensor:
        r"""Logits for given input tokens.

        Args:
            z: `batch x d` latents.
            inputs: `batch x T` indices ``[<start>, t_1, ..., t_{T-1}]``, ``T <= L``.

        Returns:
            `batch x T x D` logits (row ``t`` predicts ``t_{t+1}``).
        """
        mem = self.memory(z)
        T = inputs.shape[1]
        x = torch.cat([mem, self.embed(inputs) + self.pos.weight[:T]], 1)
        mask = self._mask(T, x)
        for block in self.blocks:
            x = block(x, mask)
        return self.out(self.norm(x[:, self.cfg.n_memory :]))

    @torch.no_grad()
    def greedy(self, z: Tensor, max_len: int | None = None) -> Tensor:
        r"""Greedy (argmax) decoding with a KV cache, without dropout.

        Args:
            z: `batch x d` latents (not differentiated).
            max_len: Positions to decode (default `L`).

        Returns:
            `batch x L` indices; ``<pad>`` (0) after the first ``<stop>`` (2) or ``<pad>``.
        """
        was_training = self.training
        self.eval()
        L = max_len or self.cfg.max_len
        B = z.shape[0]
        caches: list[list[Tensor]] = [[] for _ in self.blocks]
        x = self.memory(z.detach())
        token = torch.full((B,), 1, dtype=torch.long, device=x.device)
        done = torch.zeros(B, dtype=torch.bool, device=x.device)
        out = []
        for t in range(L):
            step = (self.embed(token) + self.pos.weight[t]).unsqueeze(1)
            x = step if t > 0 else torch.cat([x, step], 1)
            mask = self._mask(1, x) if t == 0 else None
            for block, cache in zip(self.blocks, caches):
                x = block(x, mask, cache)
            token = self.out(self.norm(x[:, -1])).argmax(-1)
            token = token.masked_fill(done, 0)
            done = done | (token == 2) | (token == 0)
            out.append(token)
        self.train(was_training)
        return torch.stack(out, 1)

    @staticmethod
    def shift(tokens: Tensor) -> Tensor:
        """Decoder inputs of target tokens: ``[<start>, t_1, ..., t_{L-1}]``."""
        start = torch.ones_like(tokens[:, :1])
        return torch.cat([start, tokens[:, :-1]], 1)

    def forward(self, z: Tensor, positions: int | None = None) -> Tensor:
        r"""Logits of the greedy decode, `batch x d` -> `batch x K x D`, smooth in ``z``.

        Args:
            z: `batch x d` latents.
            positions: Decode only the first `K` positions (default all `L`); the
                decoder is causal, so they equal the first `K` of a full decode.
        """
        K = decoded_positions(positions, self.cfg.max_len)
        tokens = self.greedy(z.detach(), max_len=K)
        return self.teacher_forced(z, self.shift(tokens))

    def logits_and_jacobian(
        self, z: Tensor, positions: int | None = None
    ) -> tuple[Tensor, Tensor]:
        r"""Logits and their Jacobian with the greedy tokens held fixed.

        Hand-written forward mode of the teacher-forced pass over all `d`
        directions at once (:mod:`.selfies_jvp`); the same values as
        ``torch.func.jvp`` under ``vmap`` (used in train mode with dropout),
        several times faster; differentiable w.r.t. ``z``. With
        ``positions=K`` greedy decoding and the causal pass stop at `K`.

        Args:
            z: `batch x d` latents.
            positions: Number of leading positions `K` (default all `L`).

        Returns:
            ``(logits, A)``: `batch x K x D` and `batch x (K*D) x d`.
        """
        B, d = z.shape
        K = decoded_positions(positions, self.cfg.max_len)
        inputs = self.shift(self.greedy(z.detach(), max_len=K))
        if not (self.training and self.cfg.dropout > 0):
            return teacher_forced_jvp(self, z, inputs)

        def f(zz: Tensor) -> Tensor:
            return self.teacher_forced(zz, inputs)

        def directional(v: Tensor) -> Tensor:
            return torch.func.jvp(f, (z,), (v.expand(B, d),))[1]

        tangents = torch.func.vmap(directional, randomness="same")(
            torch.eye(d).to(z)
        )  # `d x batch x L x D`
        return f(z), tangents.flatten(2).permute(1, 2, 0)


class SelfiesVAE(nn.Module):
    """Encoder, decoder and vocabulary of a SELFIES transformer VAE.

    Args:
        cfg: Sizes (``cfg.vocab_size == len(vocab)``).
        vocab: The symbols.
    """

    def __init__(self, cfg: SelfiesVAEConfig, vocab: SelfiesVocab) -> None:
        super().__init__()
        if len(vocab) != cfg.vocab_size:
            raise ValueError(
                f"vocabulary has {len(vocab)} symbols, config says {cfg.vocab_size}"
            )
        self.cfg = cfg
        self.vocab = vocab
        self.encoder = SelfiesEncoder(cfg)
        self.decoder = SelfiesDecoder(cfg)

    @property
    def latent_dim(self) -> int:
        """The latent size `d`."""
        return self.cfg.latent_dim

    @property
    def latent_scale(self) -> float:
        """The prior's standard deviation (see :class:`SelfiesVAEConfig`)."""
        return self.cfg.latent_scale

    def tokenize(self, items: list, kind: str = "auto") -> Tensor:
        r"""SMILES, SELFIES strings or symbol lists -> `batch x L` indices.

        Raises:
            ValueError: for unknown symbols, unencodable SMILES or too long items.
        """
        tokens, _ = self.vocab.encode(items, self.cfg.max_len, kind)
        return tokens.to(self.decoder.out.weight.device)

    def detokenize(self, tokens: Tensor) -> list[str]:
        """`batch x L` indices -> SELFIES strings (cut at ``<stop>``)."""
        return self.vocab.decode(tokens)

    @torch.no_grad()
    def encode(
        self, x: list | Tensor, sample: bool = False, batch: int = 512
    ) -> Tensor:
        r"""Encode molecules (or a `batch x L` index tensor) to `batch x d` latents.

        Args:
            x: SMILES, SELFIES, symbol lists or indices.
            sample: Draw from the posterior instead of returning its mean.
            batch: Chunk size.
        """
        x = encode_input(x)  # a bare string or an empty list: a clear error
        tokens = self.tokenize(x) if isinstance(x, list) else x
        was_training = self.encoder.training
        self.encoder.eval()
        mus, logvars = [], []
        for chunk in tokens.split(batch):
            mu, logvar = self.encoder(chunk)
            mus.append(mu)
            logvars.append(logvar)
        self.encoder.train(was_training)
        mu, logvar = torch.cat(mus), torch.cat(logvars)
        if sample:
            noise = self.latent_scale * torch.randn_like(mu)
            mu = mu + noise * torch.exp(0.5 * logvar)
        return mu

    @torch.no_grad()
    def decode_tokens(self, z: Tensor, batch: int = 512) -> Tensor:
        """Greedy decoding, `batch x d` -> `batch x L` indices."""
        check_decode_latents(z, self.latent_dim)  # NaN/inf: an error, not a string
        return torch.cat([self.decoder.greedy(c) for c in z.split(batch)])

    def decode_selfies(self, z: Tensor) -> list[str]:
        """Greedy decoding to SELFIES strings."""
        return self.detokenize(self.decode_tokens(z))

    def decode_strings(self, z: Tensor) -> list[str]:
        """Greedy decoding to SMILES strings (``""`` where SELFIES decoding fails)."""
        return self.vocab.to_smiles(self.decode_selfies(z))
