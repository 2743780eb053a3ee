r"""CUDA-graph replay of a decoder's fixed-length forward pass and its backward.

The character and transformer decoders run a fixed number of small kernels per
call (120 positions x 3 recurrent layers for the SMILES GRU), so on a GPU their
cost is kernel launches, not arithmetic. :func:`graphed` captures a function
``z -> tensors`` once per input shape as two CUDA graphs, the forward pass and the
backward pass w.r.t. ``z``, and replays them; the values are those of the eager
function, computed by the same kernels.

Rules, checked here rather than left to the user:

* Only the latent gets a gradient: the graphs treat the decoder's parameters as
  constants, so :func:`graphed` declines (returns ``None``) when a parameter
  requires grad while autograd is on (whether or not ``z`` does). Freeze the decoder
  (``decoder.requires_grad_(False)``) to use the graphs in an optimizer.
* Outputs are copied out of the graph's static buffers, so results of earlier
  calls stay valid. A backward pass through a call that is no longer the last
  one replays that call's forward first, so gradients are always those of the
  call they belong to.
* Graphs are kept per ``(shape, dtype, device, grad, parameter storage)``, at most
  :data:`MAX_GRAPHS` per function; a capture that fails falls back to eager
  evaluation with a warning, once.
"""

from __future__ import annotations

import os
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable

import torch
from torch import Tensor, nn

__all__ = ["graphed", "graphs_enabled", "MAX_GRAPHS"]

#: Graph pairs cached per decoder function (each holds its activations).
MAX_GRAPHS = 8

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FAILED: set = set()


def graphs_enabled() -> bool:
    """``False`` when ``SCALES_CUDA_GRAPHS=0`` is set (debugging, profiling)."""
    return os.environ.get("SCALES_CUDA_GRAPHS", "1") != "0"


class _GraphPair:
    r"""A captured forward graph of ``fn(z)`` and, optionally, its backward graph.

    Args:
        fn: Maps a `batch x d` tensor to a tuple of tensors.
        z: An example input (shape, dtype and device are fixed from it).
        grad: Also capture the backward pass w.r.t. ``z``.
    """

    def __init__(
        self, fn: Callable[[Tensor], tuple[Tensor, ...]], z: Tensor, grad: bool
    ):
        self.grad = grad
        self.generation = 0
        self.static_z = z.detach().clone().requires_grad_(grad)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), torch.set_grad_enabled(grad):
            for _ in range(2):  # warm-up: allocator, cuBLAS handles, lazy inits
                outs = fn(self.static_z)
                if grad:
                    self._backward(outs, [torch.ones_like(o) for o in outs])
        torch.cuda.current_stream().wait_stream(side)
        # capture on the warm-up stream, where autograd placed the input's node
        self.fwd = torch.cuda.CUDAGraph()
        with torch.set_grad_enabled(grad), torch.cuda.graph(self.fwd, stream=side):
            self.static_out = tuple(fn(self.static_z))
        if grad:
            self.static_gout = [torch.zeros_like(o) for o in self.static_out]
            self.bwd = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.bwd, pool=self.fwd.pool(), stream=side):
                self.static_gz = self._backward(self.static_out, self.static_gout)
        torch.cuda.current_stream().wait_stream(side)

    def _backward(self, outs, gouts) -> Tensor:
        pairs = [(o, g) for o, g in zip(outs, gouts) if o.requires_grad]
        (gz,) = torch.autograd.grad(
            [o for o, _ in pairs],
            self.static_z,
            [g for _, g in pairs],
            retain_graph=True,  # keep the saved activations for later replays
            allow_unused=True,
        )
        return torch.zeros_like(self.static_z) if gz is None else gz

    def run_forward(self, z: Tensor) -> int:
        with torch.no_grad():
            self.static_z.copy_(z)
        self.fwd.replay()
        self.generation += 1
        return self.generation


class _Replay(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pair: _GraphPair, z: Tensor):  # noqa: D102
        ctx.pair, ctx.generation = pair, pair.run_forward(z)
        ctx.save_for_backward(z)
        return tuple(o.clone() for o in pair.static_out)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grad_outputs):  # noqa: D102
        pair = ctx.pair
        if pair.generation != ctx.generation:  # a later call reused the buffers
            (z,) = ctx.saved_tensors
            pair.run_forward(z)
            ctx.generation = pair.generation
        for buf, g in zip(pair.static_gout, grad_outputs):
            if g is None:
                buf.zero_()
            else:
                buf.copy_(g)
        pair.bwd.replay()
        return None, pair.static_gz.clone()


def _param_key(module: nn.Module | None) -> tuple:
    if module is None:
        return ()
    return tuple(p.data_ptr() for p in module.parameters())


def graphed(
    fn: Callable[[Tensor], tuple[Tensor, ...]],
    z: Tensor,
    owner: nn.Module,
    key: Hashable = None,
) -> tuple[Tensor, ...] | None:
    r"""``fn(z)`` by CUDA-graph replay, or ``None`` where graphs do not apply.

    Args:
        fn: A deterministic function of `batch x d` CUDA latents returning a
            tuple of tensors, with no host synchronization inside (no ``.item()``,
            no data-dependent shapes), whose only differentiable input is ``z``.
        z: A `batch x d` CUDA tensor.
        owner: The module whose parameters ``fn`` reads (the cache lives on it).
        key: Distinguishes several functions of one owner (e.g. ``"jacobian"``).

    Returns:
        The outputs, differentiable w.r.t. ``z`` when autograd is on and ``z``
        requires grad; ``None`` when ``z`` is not on a GPU, graphs are disabled,
        ``owner`` is in train mode, a parameter of ``owner`` requires grad under
        autograd, or capture failed before.
    """
    if not (z.is_cuda and graphs_enabled()) or owner.training:
        return None
    if torch.is_grad_enabled() and any(p.requires_grad for p in owner.parameters()):
        return None  # the weights may want gradients, which the graphs do not give
    grad = torch.is_grad_enabled() and z.requires_grad
    cache_key = (key, tuple(z.shape), z.dtype, z.device, grad, _param_key(owner))
    per_owner = _CACHE.setdefault(owner, OrderedDict())
    if cache_key in _FAILED:
        return None
    pair = per_owner.get(cache_key)
    if pair is None:
        try:
            pair = _GraphPair(fn, z, grad)
        except Exception as err:  # capture is best effort: eager is always right
            _FAILED.add(cache_key)
            warnings.warn(
                f"CUDA graph capture failed ({type(err).__name__}: {err}); "
                "falling back to eager evaluation",
                RuntimeWarning,
                stacklevel=3,
            )
            return None
        per_owner[cache_key] = pair
        while len(per_owner) > MAX_GRAPHS:
            per_owner.popitem(last=False)
    else:
        per_owner.move_to_end(cache_key)
    if grad:
        return _Replay.apply(pair, z)
    pair.run_forward(z)
    return tuple(o.clone() for o in pair.static_out)
