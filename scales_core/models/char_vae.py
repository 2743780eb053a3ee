r"""Character VAE of Notin et al. (2021).

The architecture of the published ScaLES checkpoints (expressions: `d=25, L=19,
D=15`; SMILES: `d=56, L=120, D=35`).

Encoder: one-hot `batch x D x L` -> three ``Conv1d -> ReLU -> BatchNorm`` blocks ->
flatten -> ``Linear(., 100) -> ReLU`` -> heads ``mu`` and ``sigma`` (log-variance).

Decoder: ``ctx = Linear(d, 100)(z)`` is the input of a 3-layer GRU (or LSTM) at each
of the `L` steps from a zero state; the step logits are
``Linear(200, D)(cat[h_t, Linear(D, 100)(softmax(logits_{t-1}))])`` with a zero
probability vector before the first step.

The feedback is the later code release's (``les/nets``, softmax probabilities). The
first release (OmerRonen/scales 811cd8f, ``scales/nets/gru_vae.py``,
``DecoderRNN.forward``) feeds back zeros (``teacher_forcing: false``, its
expressions VAE) or the one-hot argmax of the previous step (``teacher_forcing:
true``, its SMILES VAE): :attr:`CharVAEConfig.feedback`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..tokens import encode as encode_chars
from ._inputs import check_decode_latents, decoded_positions, encode_input
from .recurrent import RecurrenceJVP, run_recurrence

#: The decoder feedback rules (:attr:`CharVAEConfig.feedback`).
FEEDBACKS = ("softmax", "zeros", "argmax")

__all__ = [
    "FEEDBACKS",
    "CharVAEConfig",
    "CharEncoder",
    "CharDecoder",
    "PropertyNet",
    "CharVAE",
]


@dataclass(frozen=True)
class CharVAEConfig:
    """Sizes of a character VAE.

    Attributes:
        vocab_size: `D`, the number of symbols (padding included).
        max_len: `L`, the sequence length.
        latent_dim: `d`.
        hidden: Width of the dense and recurrent layers.
        num_layers: Recurrent layers in the decoder.
        cell: ``"gru"`` or ``"lstm"``.
        conv_channels: Output channels of the three encoder convolutions.
        conv_kernels: Kernel sizes of the three encoder convolutions.
        dropout: Dropout between decoder recurrent layers, active in train mode only
            (used by the MC-dropout uncertainty score).
        latent_scale: ``eps_std``, the factor on the reparametrization noise and on
            prior samples (the published code's ``les/nets/template.py``,
            ``reparameterize`` and ``generate``): the prior of the latent space is
            ``N(0, latent_scale^2 I)``. 1 for a standard VAE.
        feedback: What step ``t`` sees of step ``t - 1``: ``"softmax"`` (its
            probabilities), ``"zeros"`` (nothing) or ``"argmax"`` (the one-hot of
            its most likely symbol; no derivative flows through it).
    """

    vocab_size: int
    max_len: int
    latent_dim: int
    hidden: int = 100
    num_layers: int = 3
    cell: str = "gru"
    conv_channels: tuple[int, int, int] = (9, 9, 10)
    conv_kernels: tuple[int, int, int] = (9, 9, 11)
    dropout: float = 0.2
    latent_scale: float = 1.0
    feedback: str = "softmax"

    def __post_init__(self) -> None:
        if self.feedback not in FEEDBACKS:
            raise ValueError(
                f"feedback must be one of {FEEDBACKS}, got {self.feedback!r}"
            )


class CharEncoder(nn.Module):
    """Convolutional encoder: token indices -> ``(mu, logvar)``."""

    def __init__(self, cfg: CharVAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        # Present in the published state dicts; the convolutions read one-hot input.
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.hidden)
        channels = (cfg.vocab_size, *cfg.conv_channels)
        length = cfg.max_len
        for k in range(3):
            setattr(
                self,
                f"conv{k + 1}",
                nn.Conv1d(channels[k], channels[k + 1], cfg.conv_kernels[k]),
            )
            setattr(self, f"batch_norm{k + 1}", nn.BatchNorm1d(channels[k + 1]))
            length -= cfg.conv_kernels[k] - 1
        self.linear = nn.Linear(channels[-1] * length, cfg.hidden)
        self.mu = nn.Linear(cfg.hidden, cfg.latent_dim)
        self.sigma = nn.Linear(cfg.hidden, cfg.latent_dim)

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        r"""Encode.

        Args:
            tokens: A `batch x L` long tensor of symbol indices.

        Returns:
            ``(mu, logvar)``, each `batch x d`.
        """
        x = nn.functional.one_hot(tokens, self.cfg.vocab_size)
        x = x.to(self.linear.weight).transpose(1, 2)  # `batch x D x L`
        for k in range(1, 4):
            conv = getattr(self, f"conv{k}")
            bn = getattr(self, f"batch_norm{k}")
            x = bn(torch.relu(conv(x)))
        h = torch.relu(self.linear(x.flatten(1)))
        return self.mu(h), self.sigma(h)


class CharDecoder(nn.Module):
    """Recurrent decoder: `batch x d` latents -> `batch x L x D` logits."""

    def __init__(self, cfg: CharVAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.project = nn.Linear(cfg.latent_dim, cfg.hidden)
        rnn = nn.LSTM if cfg.cell == "lstm" else nn.GRU
        self.gru = rnn(cfg.hidden, cfg.hidden, cfg.num_layers, batch_first=True)
        self.out = nn.Linear(2 * cfg.hidden, cfg.vocab_size)
        self.output_projection = nn.Linear(cfg.vocab_size, cfg.hidden)

    @property
    def latent_dim(self) -> int:
        """The latent size `d`."""
        return self.cfg.latent_dim

    def forward(self, z: Tensor, positions: int | None = None) -> Tensor:
        r"""Decode.

        Args:
            z: A `batch x d` tensor of latents.
            positions: Decode only the first `K` positions (the decoder is causal,
                so they equal the first `K` of a full decode); default all `L`.

        Returns:
            A `batch x K x D` tensor of logits (`K = L` by default).
        """
        cfg = self.cfg
        K = decoded_positions(positions, self.cfg.max_len)
        z = z.to(self.project.weight)
        ctx = self.project(z)  # `batch x H`
        p_drop = cfg.dropout if self.training else 0.0
        h = run_recurrence(self.gru, ctx, K, dropout=p_drop)  # `batch x K x H`
        w_h, w_q = self.out.weight[:, : cfg.hidden], self.out.weight[:, cfg.hidden :]
        base = h @ w_h.T + self.out.bias  # `batch x L x D`, the recurrent part
        # The feedback of the previous step's probabilities is linear:
        # W_q (W_p softmax + b_p) = C softmax + c0.
        C = w_q @ self.output_projection.weight  # `D x D`
        c0 = w_q @ self.output_projection.bias  # `D`
        steps = base.unbind(1)
        logits = [steps[0] + c0]
        for base_t in steps[1:]:
            probs = self._fed_back(logits[-1])
            logits.append(base_t + c0 if probs is None else base_t + probs @ C.T + c0)
        return torch.stack(logits, dim=1)

    def _fed_back(self, logits: Tensor) -> Tensor | None:
        """The `batch x D` vector fed to the next step (``None``: zeros)."""
        if self.cfg.feedback == "softmax":
            return torch.softmax(logits, dim=-1)
        if self.cfg.feedback == "zeros":
            return None
        top = logits.detach().argmax(
            -1, keepdim=True
        )  # scatter, not one_hot: vmap-safe
        return torch.zeros_like(logits).detach().scatter(-1, top, 1.0)

    def logits_and_jacobian(
        self, z: Tensor, positions: int | None = None
    ) -> tuple[Tensor, Tensor]:
        r"""Logits and their exact Jacobian, by hand-written forward mode.

        Same values as ``torch.func`` forward mode over :meth:`forward` in eval
        mode, several times faster; differentiable w.r.t. ``z`` (second order).
        With ``positions=K`` both the recurrence and its tangents stop after `K`
        steps (cost proportional to `K`; the values are the first `K` rows).

        Args:
            z: A `batch x d` tensor.
            positions: Number of leading positions `K` (default all `L`).

        Returns:
            ``(logits, A)``: `batch x K x D` and `batch x (K*D) x d`.
        """
        cfg = self.cfg
        K = decoded_positions(positions, self.cfg.max_len)
        z = z.to(self.project.weight)
        B, d = z.shape
        ctx = self.project(z)  # `batch x H`
        # dctx: `1 x d x H`, the same for the whole batch
        dctx = self.project.weight.T.unsqueeze(0)
        rec = RecurrenceJVP(self.gru, ctx, dctx)
        w_h, w_q = self.out.weight[:, : cfg.hidden], self.out.weight[:, cfg.hidden :]
        C = (w_q @ self.output_projection.weight).T  # `D x D`, acts on probabilities
        c0 = w_q @ self.output_projection.bias + self.out.bias
        logits, dlogits = [], []
        for t in range(K):
            h, dh = rec.step()  # `batch x H`, `batch x d x H`
            l_t, dl_t = h @ w_h.T + c0, dh @ w_h.T  # `batch x D`, `batch x d x D`
            if t > 0 and cfg.feedback == "softmax":
                p = torch.softmax(logits[-1], dim=-1).unsqueeze(1)  # `batch x 1 x D`
                dl = dlogits[-1]
                dp = p * (dl - (dl * p).sum(-1, keepdim=True))  # `batch x d x D`
                l_t = l_t + p.squeeze(1) @ C
                dl_t = dl_t + dp @ C
            elif t > 0 and cfg.feedback == "argmax":  # piecewise constant: no tangent
                l_t = l_t + self._fed_back(logits[-1]) @ C
            logits.append(l_t)
            dlogits.append(dl_t)
        A = torch.stack(dlogits, dim=1)  # `batch x L x d x D`
        return torch.stack(logits, dim=1), A.transpose(2, 3).reshape(B, -1, d)


class PropertyNet(nn.Module):
    """The property head stored with the checkpoints (`d -> 100 -> 100 -> 1`)."""

    def __init__(self, latent_dim: int, hidden: int = 100) -> None:
        super().__init__()
        self.fc1 = nn.Linear(latent_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 1)

    def forward(self, z: Tensor) -> Tensor:
        """Predict a property, `batch x d` -> `batch`."""
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(z))))).squeeze(-1)


class CharVAE(nn.Module):
    """Encoder, decoder and vocabulary of a character VAE.

    Args:
        cfg: Sizes.
        vocab: Symbols in index order; ``vocab[pad_index]`` pads the end.
        pad_index: Index of the padding symbol.
        kind: Model kind written when saved (:func:`scales_core.models.own.save_vae`):
            ``"char"`` or ``"char_<dataset>"`` (``"char_expressions"``,
            ``"char_smiles"``); it names the dataset the model reads.
    """

    def __init__(
        self, cfg: CharVAEConfig, vocab: list[str], pad_index: int, kind: str = "char"
    ) -> None:
        super().__init__()
        if len(vocab) != cfg.vocab_size:
            raise ValueError(
                f"vocabulary has {len(vocab)} symbols, config says {cfg.vocab_size}"
            )
        self.cfg = cfg
        self.vocab = list(vocab)
        self.pad_index = pad_index
        self.kind = kind
        self.encoder = CharEncoder(cfg)
        self.decoder = CharDecoder(cfg)
        self.property_net = PropertyNet(cfg.latent_dim, cfg.hidden)
        self._index = {s: i for i, s in enumerate(self.vocab)}

    @property
    def latent_dim(self) -> int:
        """The latent size `d`."""
        return self.cfg.latent_dim

    @property
    def latent_scale(self) -> float:
        """The prior's standard deviation (``eps_std``; see :class:`CharVAEConfig`)."""
        return self.cfg.latent_scale

    def tokenize(self, strings: list[str]) -> Tensor:
        r"""Map strings to a `batch x L` long tensor, padded with the padding symbol.

        The one character tokenizer, :func:`scales_core.tokens.encode`.

        Raises:
            ValueError: for an unknown character or a string longer than `L`.
        """
        return encode_chars(
            strings,
            self._index,
            self.cfg.max_len,
            what="item",
            pad=self.vocab[self.pad_index],
            device=self.decoder.out.weight.device,
        )

    def detokenize(self, tokens: Tensor) -> list[str]:
        """Map a `batch x L` index tensor to strings, dropping padding symbols."""
        pad = self.vocab[self.pad_index]
        return [
            "".join(self.vocab[i] for i in row).replace(pad, "")
            for row in tokens.tolist()
        ]

    @torch.no_grad()
    def encode(self, x: list[str] | Tensor, sample: bool = False) -> Tensor:
        r"""Encode strings (or a `batch x L` index tensor) to latents.

        Args:
            x: Strings or token indices.
            sample: Draw from the posterior instead of returning its mean (the
                noise multiplied by :attr:`latent_scale`, as in training).

        Returns:
            A `batch x d` tensor.
        """
        x = encode_input(x)  # a bare string or an empty list: a clear error
        tokens = self.tokenize(x) if isinstance(x, list) else x
        was_training = self.encoder.training
        self.encoder.eval()
        mu, logvar = self.encoder(tokens)
        self.encoder.train(was_training)
        if sample:
            noise = self.latent_scale * torch.randn_like(mu)
            mu = mu + noise * torch.exp(0.5 * logvar)
        return mu

    @torch.no_grad()
    def decode_tokens(self, z: Tensor) -> Tensor:
        """Argmax decoding, `batch x d` -> `batch x L` indices (decoder in eval mode)."""
        check_decode_latents(z, self.latent_dim)  # NaN/inf: an error, not a string
        was_training = self.decoder.training
        self.decoder.eval()
        tokens = self.decoder(z).argmax(-1)
        self.decoder.train(was_training)
        return tokens

    def decode_strings(self, z: Tensor) -> list[str]:
        """Argmax decoding to strings, `batch x d` -> `batch` strings."""
        return self.detokenize(self.decode_tokens(z))
