r"""Multi-layer GRU and LSTM recurrences written with plain tensor operations.

The published character VAEs store their decoder recurrence as ``nn.GRU``/``nn.LSTM``
state dicts. Running those weights through ``torch.func.jvp``/``vmap`` needs every
operation to have forward-mode and batching rules, which the fused RNN kernels lack;
these functions evaluate the same recurrence with matmuls so any latent-space
transform (forward or reverse mode, ``vmap``, double backward) applies.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["run_recurrence"]


def _gru_layer(x_proj: Tensor, w_hh: Tensor, b_hh: Tensor, steps: int) -> Tensor:
    r"""One GRU layer over ``steps`` from a zero state.

    Args:
        x_proj: Input projections ``x W_ih^T + b_ih``, `batch x steps x 3H` or
            `batch x 3H` when the input is the same at every step.
        w_hh: `3H x H` recurrent weights. b_hh: `3H` recurrent bias.
        steps: Number of time steps.

    Returns:
        A `batch x steps x H` tensor of hidden states.
    """
    hidden = w_hh.shape[1]
    batch = x_proj.shape[0]
    h = x_proj.new_zeros(batch, hidden)
    outs = []
    xs = [x_proj] * steps if x_proj.dim() == 2 else x_proj.unbind(1)
    for xt in xs:
        gh = h @ w_hh.T + b_hh  # (batch, 3H)
        xr, xz, xn = xt.chunk(3, dim=-1)
        hr, hz, hn = gh.chunk(3, dim=-1)
        r = torch.sigmoid(xr + hr)
        u = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = (1 - u) * n + u * h
        outs.append(h)
    return torch.stack(outs, dim=1)


def _lstm_layer(x_proj: Tensor, w_hh: Tensor, b_hh: Tensor, steps: int) -> Tensor:
    r"""One LSTM layer over ``steps`` from a zero state (gate order i, f, g, o)."""
    hidden = w_hh.shape[1]
    batch = x_proj.shape[0]
    h = x_proj.new_zeros(batch, hidden)
    c = x_proj.new_zeros(batch, hidden)
    outs = []
    xs = [x_proj] * steps if x_proj.dim() == 2 else x_proj.unbind(1)
    for xt in xs:
        gates = xt + h @ w_hh.T + b_hh  # (batch, 4H)
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs, dim=1)


def run_recurrence(
    rnn: nn.GRU | nn.LSTM, x: Tensor, steps: int, dropout: float = 0.0
) -> Tensor:
    r"""Run the weights of ``rnn`` (batch-first) over a constant input.

    Equivalent to ``rnn(x.unsqueeze(1).expand(-1, steps, -1))[0]`` with a zero
    initial state, but built from matmuls so that ``torch.func`` transforms apply.

    Args:
        rnn: An ``nn.GRU`` or ``nn.LSTM`` whose parameters are used.
        x: A `batch x input_size` tensor, the input at every step.
        steps: Sequence length `L`.
        dropout: Dropout probability applied between layers (as ``nn.GRU`` does in
            train mode); pass 0 for a deterministic pass.

    Returns:
        A `batch x L x hidden_size` tensor of top-layer outputs.
    """
    layer_fn = _lstm_layer if isinstance(rnn, nn.LSTM) else _gru_layer
    out: Tensor | None = None
    for k in range(rnn.num_layers):
        w_ih = getattr(rnn, f"weight_ih_l{k}")
        b_ih = getattr(rnn, f"bias_ih_l{k}")
        w_hh = getattr(rnn, f"weight_hh_l{k}")
        b_hh = getattr(rnn, f"bias_hh_l{k}")
        if out is None:
            x_proj = x @ w_ih.T + b_ih  # (batch, G*H), the same at every step
        else:
            inp = nn.functional.dropout(out, dropout, training=dropout > 0)
            x_proj = inp @ w_ih.T + b_ih  # (batch, L, G*H)
        out = layer_fn(x_proj, w_hh, b_hh, steps)
    assert out is not None
    return out


def _per_step(x: Tensor, steps: int, gates: int, const_dim: int) -> list[tuple[Tensor, ...]]:
    r"""Split gate pre-activations once, then into time steps.

    Chunking and indexing outside the time loop keeps the backward pass to one
    concatenation per layer instead of one per step.

    Args:
        x: `... x G*H`, constant over time when ``x.dim() == const_dim``, else with
            the time axis at dim 1.
        steps: Number of time steps.
        gates: Number of gates `G`.
        const_dim: Rank of a time-constant input.

    Returns:
        For each step, the tuple of `G` gate slices.
    """
    parts = x.chunk(gates, dim=-1)
    if x.dim() == const_dim:
        return [parts] * steps
    return list(zip(*(part.unbind(1) for part in parts)))


def _gru_layer_jvp(
    x_proj: Tensor, dx_proj: Tensor, w_hh: Tensor, b_hh: Tensor, steps: int
) -> tuple[Tensor, Tensor]:
    r"""One GRU layer and its forward-mode derivative along `k` directions.

    Args:
        x_proj: `batch x 3H` (constant input) or `batch x steps x 3H`.
        dx_proj: Its tangents, `batch x k x 3H` or `batch x steps x k x 3H`.
        w_hh, b_hh: Recurrent weights `3H x H` and bias `3H`.
        steps: Number of time steps.

    Returns:
        ``(h, dh)``: `batch x steps x H` and `batch x steps x k x H`.
    """
    batch, hidden = x_proj.shape[0], w_hh.shape[1]
    k = dx_proj.shape[-2]
    w_r, w_z, w_n = (w.T for w in w_hh.chunk(3, dim=0))  # each (H, H)
    b_r, b_z, b_n = b_hh.chunk(3)
    h = x_proj.new_zeros(batch, hidden)
    dh = x_proj.new_zeros(batch, k, hidden)
    hs, dhs = [], []
    xs = _per_step(x_proj, steps, 3, 2)
    dxs = _per_step(dx_proj, steps, 3, 3)
    for (xr, xz, xn), (dxr, dxz, dxn) in zip(xs, dxs):
        r = torch.sigmoid(xr + h @ w_r + b_r)  # (batch, H)
        u = torch.sigmoid(xz + h @ w_z + b_z)
        hn = h @ w_n + b_n
        n = torch.tanh(xn + r * hn)
        r_, u_, n_ = r.unsqueeze(1), u.unsqueeze(1), n.unsqueeze(1)
        dr = r_ * (1 - r_) * (dxr + dh @ w_r)  # (batch, k, H)
        du = u_ * (1 - u_) * (dxz + dh @ w_z)
        dn = (1 - n_ * n_) * (dxn + dr * hn.unsqueeze(1) + r_ * (dh @ w_n))
        dh = (1 - u_) * dn + u_ * dh + du * (h.unsqueeze(1) - n_)
        h = (1 - u) * n + u * h
        hs.append(h)
        dhs.append(dh)
    return torch.stack(hs, dim=1), torch.stack(dhs, dim=1)


def _lstm_layer_jvp(
    x_proj: Tensor, dx_proj: Tensor, w_hh: Tensor, b_hh: Tensor, steps: int
) -> tuple[Tensor, Tensor]:
    r"""One LSTM layer and its derivative along `k` directions (see the GRU one)."""
    batch, hidden = x_proj.shape[0], w_hh.shape[1]
    k = dx_proj.shape[-2]
    w_i, w_f, w_g, w_o = (w.T for w in w_hh.chunk(4, dim=0))
    b_i, b_f, b_g, b_o = b_hh.chunk(4)
    h = x_proj.new_zeros(batch, hidden)
    c = x_proj.new_zeros(batch, hidden)
    dh = x_proj.new_zeros(batch, k, hidden)
    dc = x_proj.new_zeros(batch, k, hidden)
    hs, dhs = [], []
    xs = _per_step(x_proj, steps, 4, 2)
    dxs = _per_step(dx_proj, steps, 4, 3)
    for (xi, xf, xg, xo), (dxi, dxf, dxg, dxo) in zip(xs, dxs):
        i = torch.sigmoid(xi + h @ w_i + b_i)
        f = torch.sigmoid(xf + h @ w_f + b_f)
        g = torch.tanh(xg + h @ w_g + b_g)
        o = torch.sigmoid(xo + h @ w_o + b_o)
        i_, f_, g_, o_ = (a.unsqueeze(1) for a in (i, f, g, o))
        di = i_ * (1 - i_) * (dxi + dh @ w_i)
        df = f_ * (1 - f_) * (dxf + dh @ w_f)
        dg = (1 - g_ * g_) * (dxg + dh @ w_g)
        do = o_ * (1 - o_) * (dxo + dh @ w_o)
        dc = df * c.unsqueeze(1) + f_ * dc + di * g_ + i_ * dg
        c = f * c + i * g
        tc = torch.tanh(c)
        tc_ = tc.unsqueeze(1)
        dh = do * tc_ + o_ * (1 - tc_ * tc_) * dc
        h = o * tc
        hs.append(h)
        dhs.append(dh)
    return torch.stack(hs, dim=1), torch.stack(dhs, dim=1)


def run_recurrence_jvp(
    rnn: nn.GRU | nn.LSTM, x: Tensor, dx: Tensor, steps: int
) -> tuple[Tensor, Tensor]:
    r""":func:`run_recurrence` (no dropout) and its derivative along `k` directions.

    Hand-written forward mode: the tangents ride along as an extra `k` axis, so a
    Jacobian costs one pass with `k`-times wider matmuls, and the result stays an
    ordinary autograd graph (its backward gives exact second derivatives).

    Args:
        rnn: An ``nn.GRU`` or ``nn.LSTM`` (its parameters are used).
        x: A `batch x input_size` input, constant over time.
        dx: Its tangents, `batch x k x input_size`.
        steps: Sequence length `L`.

    Returns:
        ``(h, dh)``: `batch x L x H` outputs and `batch x L x k x H` tangents.
    """
    layer_fn = _lstm_layer_jvp if isinstance(rnn, nn.LSTM) else _gru_layer_jvp
    out, dout = x, dx
    for k in range(rnn.num_layers):
        w_ih = getattr(rnn, f"weight_ih_l{k}")
        b_ih = getattr(rnn, f"bias_ih_l{k}")
        w_hh = getattr(rnn, f"weight_hh_l{k}")
        b_hh = getattr(rnn, f"bias_hh_l{k}")
        x_proj = out @ w_ih.T + b_ih
        dx_proj = dout @ w_ih.T
        out, dout = layer_fn(x_proj, dx_proj, w_hh, b_hh, steps)
    return out, dout
