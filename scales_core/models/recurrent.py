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
        w_hh: `3H x H` recurrent weights.
        b_hh: `3H` recurrent bias.
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
        gh = h @ w_hh.T + b_hh  # `batch x 3H`
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
        gates = xt + h @ w_hh.T + b_hh  # `batch x 4H`
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
            x_proj = x @ w_ih.T + b_ih  # `batch x G*H`, the same at every step
        else:
            inp = nn.functional.dropout(out, dropout, training=dropout > 0)
            x_proj = inp @ w_ih.T + b_ih  # `batch x L x G*H`
        out = layer_fn(x_proj, w_hh, b_hh, steps)
    assert out is not None
    return out


def _cell_weights(rnn: nn.GRU | nn.LSTM, layer: int) -> dict[str, Tensor]:
    """Transposed weights of one layer, all gates side by side (`H_in x G*H`, `G*H`)."""
    return {
        "w_ih": getattr(rnn, f"weight_ih_l{layer}").T,
        "b_ih": getattr(rnn, f"bias_ih_l{layer}"),
        "w_hh": getattr(rnn, f"weight_hh_l{layer}").T,
        "b_hh": getattr(rnn, f"bias_hh_l{layer}"),
    }


def _gru_cell_jvp(
    x: Tensor,
    dx: Tensor,
    state: tuple[Tensor, ...],
    dstate: tuple[Tensor, ...],
    w: dict[str, Tensor],
) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    r"""One GRU step and its tangents.

    With ``G = dh W_hh`` (all three gates in one matmul), ``g_n = (1 - u)(1 - n^2)``
    and ``P_x = dx_x + G_x``, the tangent update is
    ``dh' = u dh + c_r P_r + c_z P_z + g_n dx_n + c_m G_n`` with
    ``c_r = g_n h_n r(1-r)``, ``c_z = (h - n) u(1-u)``, ``c_m = g_n r``; it is
    evaluated as ``sum_gates(dx * a + G * b) + u dh`` on `batch x k x 3H` tensors,
    so a step costs two matmuls and four wide elementwise kernels.

    Args:
        x: Input projections ``x W_ih^T + b_ih`` of the gates (r, z, n), `batch x 3H`.
        dx: Their tangents, `batch x k x 3H` (or `1 x k x 3H`, shared by the batch).
        state: ``(h,)`` with `h` of shape `batch x H`.
        dstate: ``(dh,)``, `batch x k x H`.
        w: Output of :func:`_cell_weights`.

    Returns:
        The new ``(h,)`` and ``(dh,)``.
    """
    (h,), (dh,) = state, dstate
    B, k, H = dh.shape
    gh = torch.addmm(w["b_hh"], h, w["w_hh"])  # `batch x 3H`
    xr, xz, xn = x.chunk(3, dim=-1)
    _, _, hn = gh.chunk(3, dim=-1)
    rz = torch.sigmoid(x[:, : 2 * H] + gh[:, : 2 * H])
    r, u = rz.chunk(2, dim=-1)
    n = torch.tanh(xn + r * hn)
    G = (dh.reshape(B * k, H) @ w["w_hh"]).view(B, k, 3 * H)
    g_n = (1 - u) * (1 - n * n)
    c_r = g_n * hn * r * (1 - r)
    c_z = (h - n) * u * (1 - u)
    a = torch.cat([c_r, c_z, g_n], dim=-1).unsqueeze(1)  # `batch x 1 x 3H`, on dx
    b = torch.cat([c_r, c_z, g_n * r], dim=-1).unsqueeze(1)  # on G
    terms = torch.addcmul(dx * a, G, b).view(B, k, 3, H).sum(2)
    new_dh = torch.addcmul(terms, u.unsqueeze(1), dh)
    return (n + u * (h - n),), (new_dh,)


def _lstm_cell_jvp(
    x: Tensor,
    dx: Tensor,
    state: tuple[Tensor, ...],
    dstate: tuple[Tensor, ...],
    w: dict[str, Tensor],
) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
    r"""One LSTM step (gates i, f, g, o) and its tangents; state is ``(h, c)``.

    With ``P = dx + dh W_hh`` (all four gates), ``dc' = f dc + c f(1-f) P_f
    + g i(1-i) P_i + i (1-g^2) P_g`` and ``dh' = tanh(c') o(1-o) P_o
    + o (1 - tanh^2 c') dc'``. Shapes as in :func:`_gru_cell_jvp` with `4H`.
    """
    (h, c), (dh, dc) = state, dstate
    B, k, H = dh.shape
    pre = x + torch.addmm(w["b_hh"], h, w["w_hh"])  # `batch x 4H`
    P = (dh.reshape(B * k, H) @ w["w_hh"]).view(B, k, 4 * H) + dx
    s = torch.sigmoid(pre)
    i, f, _, o = s.chunk(4, dim=-1)
    g = torch.tanh(pre[:, 2 * H : 3 * H])
    coef = torch.cat([g * i * (1 - i), c * f * (1 - f), i * (1 - g * g)], dim=-1)
    new_dc = (P[..., : 3 * H] * coef.unsqueeze(1)).view(B, k, 3, H).sum(2)
    new_dc = torch.addcmul(new_dc, f.unsqueeze(1), dc)
    c = f * c + i * g
    tc = torch.tanh(c)
    new_dh = (tc * o * (1 - o)).unsqueeze(1) * P[..., 3 * H :]
    new_dh = torch.addcmul(new_dh, (o * (1 - tc * tc)).unsqueeze(1), new_dc)
    return (o * tc, c), (new_dh, new_dc)


class RecurrenceJVP:
    r"""Step-by-step forward-mode evaluation of a stacked GRU/LSTM.

    The tangents ride along as an extra `k` axis, so a full Jacobian costs one
    pass with `k`-times wider matmuls, and the result stays an ordinary autograd
    graph whose backward gives exact second derivatives. Steps run time-major
    (all layers at step `t`, then `t + 1`), so no per-layer sequence tensors are
    stacked, and the gates of a layer share one matmul.

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
        self.x0 = torch.addmm(w0["b_ih"], x, w0["w_ih"])  # `batch x G*H`, constant
        batch, hidden, k = x.shape[0], rnn.hidden_size, dx.shape[-2]
        # constant over time; a tangent shared by the batch stays `1 x k x G*H`
        self.dx0 = dx @ w0["w_ih"]
        if self.dx0.dim() == 2:
            self.dx0 = self.dx0.unsqueeze(0)
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
                xs = torch.addmm(w["b_ih"], h, w["w_ih"])
                B, k, H = dh.shape
                dxs = (dh.reshape(B * k, H) @ w["w_ih"]).view(B, k, -1)
            self.state[layer], self.dstate[layer] = self.cell(
                xs, dxs, self.state[layer], self.dstate[layer], w
            )
        return self.state[-1][0], self.dstate[-1][0]
