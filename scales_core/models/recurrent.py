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


def _cell_weights(rnn: nn.GRU | nn.LSTM, layer: int) -> dict[str, tuple[Tensor, ...]]:
    """Per-gate transposed weights and biases of one layer (`H_in x H` / `H`)."""
    gates = 4 if isinstance(rnn, nn.LSTM) else 3
    w_ih = getattr(rnn, f"weight_ih_l{layer}")
    w_hh = getattr(rnn, f"weight_hh_l{layer}")
    return {
        "w_ih": tuple(w.T for w in w_ih.chunk(gates, dim=0)),
        "b_ih": getattr(rnn, f"bias_ih_l{layer}").chunk(gates),
        "w_hh": tuple(w.T for w in w_hh.chunk(gates, dim=0)),
        "b_hh": getattr(rnn, f"bias_hh_l{layer}").chunk(gates),
    }


def _gru_cell_jvp(
    xs: tuple[Tensor, ...],
    dxs: tuple[Tensor, ...],
    state: tuple[Tensor, ...],
    dstate: tuple[Tensor, ...],
    w: dict[str, tuple[Tensor, ...]],
) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    r"""One GRU step and its tangents.

    With ``g_n = (1 - u)(1 - n^2)`` the tangent update folds into
    ``dh' = u dh + g_n dx_n + g_n h_n r(1-r) P_r + g_n r M_n + (h - n) u(1-u) P_z``
    (``P_r = dx_r + dh W_r``, ``M_n = dh W_n``, ``P_z = dx_z + dh W_z``), so each
    step costs three matmuls and five elementwise kernels on the wide tensors.

    Args:
        xs: Input projections per gate (r, z, n), each `batch x H`.
        dxs: Their tangents, each `batch x k x H`.
        state: ``(h,)`` with `h` of shape `batch x H`.
        dstate: ``(dh,)``, `batch x k x H`.
        w: Output of :func:`_cell_weights`.

    Returns:
        The new ``(h,)`` and ``(dh,)``.
    """
    (h,), (dh,) = state, dstate
    (xr, xz, xn), (dxr, dxz, dxn) = xs, dxs
    (w_r, w_z, w_n), (b_r, b_z, b_n) = w["w_hh"], w["b_hh"]
    B, k, H = dh.shape
    dh2 = dh.reshape(B * k, H)
    r = torch.sigmoid(xr + h @ w_r + b_r)
    u = torch.sigmoid(xz + h @ w_z + b_z)
    hn = h @ w_n + b_n
    n = torch.tanh(xn + r * hn)
    P_r = torch.addmm(dxr.reshape(B * k, H), dh2, w_r).view(B, k, H)
    P_z = torch.addmm(dxz.reshape(B * k, H), dh2, w_z).view(B, k, H)
    M_n = (dh2 @ w_n).view(B, k, H)
    g_n = (1 - u) * (1 - n * n)
    new_dh = u.unsqueeze(1) * dh
    new_dh = torch.addcmul(new_dh, g_n.unsqueeze(1), dxn)
    new_dh = torch.addcmul(new_dh, (g_n * hn * r * (1 - r)).unsqueeze(1), P_r)
    new_dh = torch.addcmul(new_dh, (g_n * r).unsqueeze(1), M_n)
    new_dh = torch.addcmul(new_dh, ((h - n) * u * (1 - u)).unsqueeze(1), P_z)
    return ((1 - u) * n + u * h,), (new_dh,)


def _lstm_cell_jvp(
    xs: tuple[Tensor, ...],
    dxs: tuple[Tensor, ...],
    state: tuple[Tensor, ...],
    dstate: tuple[Tensor, ...],
    w: dict[str, tuple[Tensor, ...]],
) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    r"""One LSTM step (gates i, f, g, o) and its tangents; state is ``(h, c)``.

    ``dc' = c f(1-f) P_f + f dc + g i(1-i) P_i + i (1-g^2) P_g`` and
    ``dh' = tanh(c') o(1-o) P_o + o (1 - tanh^2 c') dc'`` with
    ``P_x = dx_x + dh W_x``.
    """
    (h, c), (dh, dc) = state, dstate
    B, k, H = dh.shape
    dh2 = dh.reshape(B * k, H)
    pre = [x + h @ wh + bh for x, wh, bh in zip(xs, w["w_hh"], w["b_hh"])]
    P = [
        torch.addmm(dx.reshape(B * k, H), dh2, wh).view(B, k, H)
        for dx, wh in zip(dxs, w["w_hh"])
    ]
    i, f, o = (torch.sigmoid(pre[j]) for j in (0, 1, 3))
    g = torch.tanh(pre[2])
    new_dc = f.unsqueeze(1) * dc
    new_dc = torch.addcmul(new_dc, (c * f * (1 - f)).unsqueeze(1), P[1])
    new_dc = torch.addcmul(new_dc, (g * i * (1 - i)).unsqueeze(1), P[0])
    new_dc = torch.addcmul(new_dc, (i * (1 - g * g)).unsqueeze(1), P[2])
    c = f * c + i * g
    tc = torch.tanh(c)
    new_dh = (tc * o * (1 - o)).unsqueeze(1) * P[3]
    new_dh = torch.addcmul(new_dh, (o * (1 - tc * tc)).unsqueeze(1), new_dc)
    return (o * tc, c), (new_dh, new_dc)


class RecurrenceJVP:
    r"""Step-by-step forward-mode evaluation of a stacked GRU/LSTM.

    The tangents ride along as an extra `k` axis, so a full Jacobian costs one
    pass with `k`-times wider matmuls, and the result stays an ordinary autograd
    graph whose backward gives exact second derivatives. Steps run time-major
    (all layers at step `t`, then `t + 1`), so no per-layer sequence tensors are
    stacked.

    Args:
        rnn: An ``nn.GRU`` or ``nn.LSTM`` (its parameters are used; no dropout).
        x: A `batch x input_size` input, the same at every step.
        dx: Its tangents, `batch x k x input_size` (or `k x input_size`).
    """

    def __init__(self, rnn: nn.GRU | nn.LSTM, x: Tensor, dx: Tensor) -> None:
        self.is_lstm = isinstance(rnn, nn.LSTM)
        self.cell = _lstm_cell_jvp if self.is_lstm else _gru_cell_jvp
        self.weights = [_cell_weights(rnn, k) for k in range(rnn.num_layers)]
        w0 = self.weights[0]
        self.x0 = tuple(x @ wi + bi for wi, bi in zip(w0["w_ih"], w0["b_ih"]))
        batch, hidden, k = x.shape[0], rnn.hidden_size, dx.shape[-2]
        # constant over time: materialize the (batch, k, H) tangents once
        self.dx0 = tuple(
            (dx @ wi).expand(batch, k, hidden).contiguous() for wi in w0["w_ih"]
        )
        n_state = 2 if self.is_lstm else 1
        self.state = [
            tuple(x.new_zeros(batch, hidden) for _ in range(n_state))
            for _ in self.weights
        ]
        self.dstate = [
            tuple(x.new_zeros(batch, k, hidden) for _ in range(n_state))
            for _ in self.weights
        ]

    def step(self) -> tuple[Tensor, Tensor]:
        """Advance one time step; return the top layer's `h` and its tangents."""
        xs, dxs = self.x0, self.dx0
        for layer, w in enumerate(self.weights):
            if layer > 0:
                h, dh = self.state[layer - 1][0], self.dstate[layer - 1][0]
                xs = tuple(h @ wi + bi for wi, bi in zip(w["w_ih"], w["b_ih"]))
                B, k, H = dh.shape
                dh2 = dh.reshape(B * k, H)
                dxs = tuple((dh2 @ wi).view(B, k, -1) for wi in w["w_ih"])
            self.state[layer], self.dstate[layer] = self.cell(
                xs, dxs, self.state[layer], self.dstate[layer], w
            )
        return self.state[-1][0], self.dstate[-1][0]
