"""Issue 13, group 3: the score gives a clear error or a correct result, never a
silent NaN (rank-deficient Jacobians, huge latents, bad arguments, memory of the
exact gradient, empty batches), plus a property-based test of the whole API."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from conftest import LinearDecoder, MLPDecoder, needs_data
from torch import nn

import scales_core as sc
from scales_core.batching import map_batches
from scales_core.logdet import log_det_forward, log_det_paper

ROOT = Path(__file__).resolve().parents[1]
EXPRESSIONS = "checkpoints/paper/expressions_gru_1/w.pth"


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class IgnoresLast(nn.Module):
    """An MLP decoder that ignores its last latent coordinate."""

    def __init__(self, d=3, L=4, D=5):
        super().__init__()
        self.inner = MLPDecoder(d=d - 1, L=L, D=D)
        self.latent_dim = d

    def forward(self, z):
        return self.inner(z[:, :-1])


class SometimesFlat(nn.Module):
    """Ignores the last coordinate of rows whose first coordinate is negative."""

    def __init__(self, d=3, L=4, D=5):
        super().__init__()
        self.inner = MLPDecoder(d=d, L=L, D=D)
        self.latent_dim = d

    def forward(self, z):
        keep = (z[:, :1] >= 0).to(z.dtype)
        mask = torch.cat([torch.ones_like(z[:, :-1]), keep], dim=1)
        return self.inner(z * mask)


# --------------------------------------------------------------------------
# 1. Rank-deficient Jacobians: -inf with a warning naming the rows, never NaN
# --------------------------------------------------------------------------


@pytest.mark.parametrize("formula", ["paper", "forward"])
@pytest.mark.parametrize("jacobian", ["forward", "fd", "reverse"])
def test_rank_deficient_jacobian_is_minus_inf_with_warning(dtype, formula, jacobian):
    dec = IgnoresLast().to(dtype)
    z = torch.randn(3, 3, dtype=dtype)
    with pytest.warns(RuntimeWarning, match=r"rank-deficient.*rows \[0, 1, 2\]"):
        value = sc.ScaLES(dec, formula=formula, jacobian=jacobian)(z)
    assert value.dtype == dtype
    assert torch.isneginf(value).all(), value


@pytest.mark.parametrize("formula", ["paper", "forward"])
def test_log_det_functions_give_minus_inf_for_rank_deficient_A(formula):
    fn = log_det_paper if formula == "paper" else log_det_forward
    logits = torch.randn(3, 4, 5, dtype=torch.float64)
    A = torch.randn(3, 20, 3, dtype=torch.float64)
    A[1, :, 2] = 0.0  # a zero column
    A[2, :, 2] = 2 * A[2, :, 0] - A[2, :, 1]  # a dependent column (not exactly zero)
    value = fn(logits, A)
    assert torch.isfinite(value[0])
    assert torch.isneginf(value[1:]).all(), value


@pytest.mark.parametrize("formula", ["paper", "forward"])
@pytest.mark.parametrize("grad", ["exact", "cpa"])
def test_rank_deficient_rows_do_not_poison_the_batch(dtype, formula, grad):
    dec = SometimesFlat().to(dtype)
    z = torch.randn(6, 3, dtype=dtype)
    z[:, 0] = torch.tensor([1.0, -1.0, 0.5, -0.2, 2.0, 0.3])
    s = sc.ScaLES(dec, formula=formula, grad=grad)
    zg = z.clone().requires_grad_()
    with pytest.warns(RuntimeWarning, match=r"rows \[1, 3\]"):
        value = s(zg)
    full = torch.tensor([True, False, True, False, True, True])
    assert torch.isfinite(value[full]).all() and torch.isneginf(value[~full]).all()
    value.sum().backward()
    assert torch.isfinite(zg.grad).all()
    # documented: log_det adds no gradient on -inf rows, leaving the prior's, -z
    torch.testing.assert_close(zg.grad[~full], -z[~full])
    # the full-rank rows are unaffected by the others
    ok = z[full].clone().requires_grad_()
    expected = s(ok)
    expected.sum().backward()
    torch.testing.assert_close(value[full].detach(), expected.detach())
    torch.testing.assert_close(zg.grad[full], ok.grad)


def test_rho_zero_ignores_rank_deficient_rows():
    dec = IgnoresLast().double()
    z = torch.randn(2, 3, dtype=torch.float64)
    with pytest.warns(RuntimeWarning, match="rank-deficient"):
        value = sc.ScaLES(dec, rho=0.0)(z)
    torch.testing.assert_close(value, sc.prior_score(z))


# --------------------------------------------------------------------------
# 2. Huge |z|: a finite value, -inf with the rank warning, or a clear error
# --------------------------------------------------------------------------

HUGE = [1e3, 1e6, 1e10, 1e15, 1e18, 1e20, 1e30]


def _finite_or_explained(score, z):
    """The score of ``z``: finite, -inf with the rank warning, or a ValueError."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = score(z)
    except ValueError as err:
        reasons = ("overflow", "resolution", "representable")
        assert any(word in str(err) for word in reasons), err
        return None
    assert not torch.isnan(value).any(), value
    minus_inf = torch.isneginf(value)
    assert torch.isfinite(value[~minus_inf]).all(), value
    if minus_inf.any():
        assert any("rank-deficient" in str(w.message) for w in caught)
    return value


@pytest.mark.parametrize("scale", HUGE)
@pytest.mark.parametrize("formula", ["paper", "forward"])
@pytest.mark.parametrize("jacobian", ["forward", "fd"])
def test_huge_latents_small_decoders(dtype, scale, formula, jacobian):
    z = scale * torch.nn.functional.normalize(torch.randn(3, 3, dtype=dtype), dim=-1)
    W = torch.randn(20, 3, dtype=dtype)
    linear = LinearDecoder(W, torch.zeros(20, dtype=dtype), 4, 5)
    for dec in (MLPDecoder().to(dtype), linear):
        s = sc.ScaLES(dec, formula=formula, jacobian=jacobian)
        _finite_or_explained(s, z)
        _finite_or_explained(s, z.clone().requires_grad_())


def test_prior_overflow_is_a_clear_error():
    with pytest.raises(ValueError, match="overflows torch.float32"):
        sc.prior_score(torch.full((1, 3), 1e20))
    assert torch.isfinite(sc.prior_score(torch.full((1, 3), 1e20, dtype=torch.float64)))


@needs_data(EXPRESSIONS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_huge_latents_expressions_checkpoint(dtype):
    from scales_core.models import load_paper_vae

    dec = load_paper_vae("expressions_gru_1").decoder.to(dtype).requires_grad_(False)
    d = dec.latent_dim
    s = sc.ScaLES(dec)
    direction = torch.nn.functional.normalize(torch.randn(2, d, dtype=dtype), dim=-1)
    for scale in HUGE:
        z = (scale * direction).requires_grad_()
        value = _finite_or_explained(s, z)
        if value is not None and torch.isfinite(value).any():
            value[torch.isfinite(value)].sum().backward()
            assert torch.isfinite(z.grad).all()


# --------------------------------------------------------------------------
# 3. Bad arguments are refused by name
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "eps", [0.0, -1e-4, float("nan"), float("inf"), "1e-4", None, True]
)
def test_bad_eps_is_refused(mlp_decoder, eps):
    with pytest.raises(ValueError, match="eps"):
        sc.ScaLES(mlp_decoder, jacobian="fd", eps=eps)
    with pytest.raises(ValueError, match="eps"):
        z = torch.randn(2, 3, dtype=torch.float64)
        sc.decoder_jacobian(mlp_decoder, z, "fd", eps)


@pytest.mark.parametrize("positions", [2.5, True, "3", 0, -1])
def test_bad_positions_is_refused(mlp_decoder, positions):
    with pytest.raises(ValueError, match="positions"):
        sc.ScaLES(mlp_decoder, positions=positions)


@pytest.mark.parametrize(
    "rho", ["1", None, torch.ones(2), True, torch.tensor(True), float("inf"), 1j]
)
def test_bad_rho_is_refused(mlp_decoder, rho):
    with pytest.raises(ValueError, match="rho"):
        sc.ScaLES(mlp_decoder, rho=rho)


@pytest.mark.parametrize("rho", [1, 0.5, torch.tensor(0.5), torch.tensor([2.0])])
def test_good_rho_types_are_accepted(mlp_decoder, rho):
    s = sc.ScaLES(mlp_decoder, rho=rho)
    assert isinstance(s.rho, float) and s.rho == float(rho)


@pytest.mark.parametrize("chunk_size", [0, -2, 2.0, True, "4"])
def test_bad_chunk_size_is_refused(mlp_decoder, chunk_size):
    with pytest.raises(ValueError, match="chunk_size"):
        sc.ScaLES(mlp_decoder, chunk_size=chunk_size)


def test_fd_step_below_the_resolution_of_z_is_refused(mlp_decoder):
    z = torch.full((2, 3), 1e13, dtype=torch.float64)
    with pytest.raises(ValueError, match="resolution"):
        sc.ScaLES(mlp_decoder, jacobian="fd")(z)


@pytest.mark.parametrize("dtype_", [torch.float16, torch.bfloat16])
def test_half_precision_latents_are_refused(dtype_):
    dec = MLPDecoder().to(dtype_)
    with pytest.raises(ValueError, match="float32 or float64"):
        sc.ScaLES(dec)(torch.randn(2, 3, dtype=dtype_))


def test_latents_are_cast_to_the_decoders_dtype():
    # issue 29: BO keeps float64 latents; a float32 decoder need not cast its input
    dec = MLPDecoder()
    z = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    for jacobian in ("forward", "fd", "reverse"):
        got = sc.ScaLES(dec, jacobian=jacobian)(z)
        assert got.dtype == torch.float64
        want = sc.ScaLES(dec, jacobian=jacobian)(z.detach().float())
        torch.testing.assert_close(got.float(), want, rtol=1e-4, atol=1e-3)
    (g,) = torch.autograd.grad(sc.ScaLES(dec)(z).sum(), z)
    assert g.dtype == torch.float64 and g.isfinite().all()


# --------------------------------------------------------------------------
# 4. Chunking: same values and gradients, bounded memory
# --------------------------------------------------------------------------


@pytest.mark.parametrize("formula", ["paper", "forward"])
@pytest.mark.parametrize("grad", ["exact", "cpa"])
@pytest.mark.parametrize("jacobian", ["forward", "fd"])
def test_chunked_equals_unchunked(formula, grad, jacobian):
    dec = MLPDecoder().double()
    kw = dict(formula=formula, grad=grad, jacobian=jacobian)
    z = torch.randn(5, 3, dtype=torch.float64)
    whole = sc.ScaLES(dec, chunk_size=None, **kw)
    chunked = sc.ScaLES(dec, chunk_size=2, **kw)
    with torch.no_grad():
        torch.testing.assert_close(chunked(z), whole(z), rtol=1e-12, atol=1e-12)
    z1, z2 = z.clone().requires_grad_(), z.clone().requires_grad_()
    v1, v2 = whole(z1), chunked(z2)
    torch.testing.assert_close(v2, v1, rtol=1e-12, atol=1e-12)
    v1.sum().backward()
    v2.sum().backward()
    torch.testing.assert_close(z2.grad, z1.grad, rtol=1e-12, atol=1e-12)


def test_chunked_gradients_reach_decoder_parameters():
    dec = MLPDecoder().double()
    z = torch.randn(5, 3, dtype=torch.float64)
    grads = []
    for chunk_size in (None, 2):
        dec.zero_grad()
        sc.ScaLES(dec, chunk_size=chunk_size)(z).sum().backward()
        grads.append([p.grad.clone() for p in dec.parameters()])
    for g1, g2 in zip(*grads):
        torch.testing.assert_close(g2, g1, rtol=1e-12, atol=1e-12)


def test_chunked_warning_names_global_rows():
    dec = SometimesFlat().double()
    z = torch.randn(5, 3, dtype=torch.float64)
    z[:, 0] = torch.tensor([1.0, 1.0, 1.0, -1.0, 1.0])
    with pytest.warns(RuntimeWarning, match=r"rows \[3\]"):
        value = sc.ScaLES(dec, chunk_size=2)(z)
    assert torch.isneginf(value[3]) and torch.isfinite(value[[0, 1, 2, 4]]).all()


def test_small_batch_takes_the_unchunked_path(monkeypatch):
    import scales_core.score as score

    calls = []
    inner = score.ScaLES._log_det

    def spy(self, z):
        calls.append((z.shape[0], torch.is_grad_enabled()))
        return inner(self, z)

    monkeypatch.setattr(score.ScaLES, "_log_det", spy)
    s = sc.ScaLES(MLPDecoder().double(), chunk_size=4)
    z = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    s(z).sum().backward()
    assert calls == [(4, True)]  # one call with the graph: the old path
    calls.clear()
    s(torch.randn(5, 3, dtype=torch.float64, requires_grad=True)).sum().backward()
    assert calls == [(4, False), (1, False), (1, True), (4, True)]  # recomputed


def test_decoder_names_its_own_auto_chunk(monkeypatch):
    import scales_core.score as score

    calls = []
    inner = score.ScaLES._log_det

    def spy(self, z):
        calls.append(z.shape[0])
        return inner(self, z)

    monkeypatch.setattr(score.ScaLES, "_log_det", spy)
    dec = MLPDecoder().double()
    dec.scales_chunk_sizes = {"cpu": 2}
    z = torch.randn(5, 3, dtype=torch.float64)
    with torch.no_grad():
        chunked = sc.ScaLES(dec)(z)
    assert calls == [2, 2, 1]
    calls.clear()
    del dec.scales_chunk_sizes  # the device default (12 rows on a CPU): one call
    with torch.no_grad():
        torch.testing.assert_close(sc.ScaLES(dec)(z), chunked, rtol=1e-12, atol=1e-12)
    assert calls == [5]


def test_chunks_of_a_plain_function_decoder_use_torch_checkpoint():
    net = MLPDecoder().double()
    z = torch.randn(5, 3, dtype=torch.float64)
    grads = []
    for chunk_size in (None, 2):
        net.zero_grad()
        sc.ScaLES(lambda x: net(x), chunk_size=chunk_size)(z).sum().backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for g1, g2 in zip(*grads):
        torch.testing.assert_close(g2, g1, rtol=1e-12, atol=1e-12)


_MEASURE = """
import resource, sys, torch
torch.set_num_threads(1)
import scales_core as sc
from scales_core.models import load_paper_vae
dec = load_paper_vae(sys.argv[1]).decoder.requires_grad_(False)
z = torch.randn(int(sys.argv[2]), dec.latent_dim, requires_grad=True)
sc.ScaLES(dec)(z).sum().backward()
assert torch.isfinite(z.grad).all()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def peak_bytes(name: str, batch: int) -> int:
    """Peak resident memory of an exact-gradient score in a fresh process (Linux)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, name, str(batch)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=True,
    )
    return int(out.stdout.split()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB")
@needs_data(EXPRESSIONS)
def test_exact_gradient_memory_expressions_b2000():
    assert peak_bytes("expressions_gru_1", 2000) < 2 * 1024**3


@pytest.mark.parametrize("rows", [13, 30])
def test_second_order_gradients_through_chunks_are_exact(rows):
    dec = MLPDecoder(d=3, L=4, D=5).double().requires_grad_(False)
    z0 = torch.randn(rows, 3, dtype=torch.float64)

    def hessian_column(chunk):
        z = z0.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(
            sc.ScaLES(dec, chunk_size=chunk)(z).sum(), z, create_graph=True
        )
        (h,) = torch.autograd.grad(g[:, 0].sum(), z)
        return g.detach(), h

    g_chunked, h_chunked = hessian_column(4)
    g_whole, h_whole = hessian_column(None)
    torch.testing.assert_close(g_chunked, g_whole)
    torch.testing.assert_close(h_chunked, h_whole)


# --------------------------------------------------------------------------
# 5. map_batches of an empty batch
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype_", [torch.float32, torch.float64])
def test_map_batches_of_an_empty_batch(mlp_decoder, dtype_):
    calls = []

    def fn(x):
        calls.append(x)
        return x.sum(-1)

    out = map_batches(fn, torch.empty(0, 3, dtype=dtype_), progress=False)
    assert out.shape == (0,) and out.dtype == dtype_ and not calls
    empty = torch.empty(0, 3, dtype=torch.float64)
    out = map_batches(sc.ScaLES(mlp_decoder), empty, progress=False)
    assert out.shape == (0,) and out.dtype == torch.float64
    with pytest.raises(ValueError, match="batch_size"):
        map_batches(fn, torch.zeros(2, 3), batch_size=2.0)


# --------------------------------------------------------------------------
# 6. Property: any input gives a finite score, -inf with the rank warning, or a
#    ValueError; never NaN and never an internal error
# --------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

_W = torch.randn(20, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
_DECODERS = {
    "mlp64": MLPDecoder().double(),
    "mlp32": MLPDecoder(),
    "linear64": LinearDecoder(_W, torch.zeros(20, dtype=torch.float64), 4, 5),
    "ignores_last": IgnoresLast().double(),
}
_SPECIAL = [
    0.0,
    -0.0,
    1e-300,
    5e-324,
    1e-30,
    1e3,
    -1e6,
    1e15,
    1e20,
    -1e30,
    1e200,
    float("nan"),
    float("inf"),
    -float("inf"),
]
_REGIMES = {
    "moderate": st.floats(-5, 5, width=64),
    "large": st.one_of(st.floats(-1e25, 1e25, width=64), st.sampled_from(HUGE)),
    "special": st.one_of(st.floats(-5, 5, width=64), st.sampled_from(_SPECIAL)),
}
_DTYPES = (
    [torch.float64] * 4
    + [torch.float32] * 4
    + [torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.bool]
)


def _sometimes(p: float):
    """A boolean strategy that is true with probability about ``p``."""
    n = round(1 / p)
    return st.sampled_from([False] * (n - 1) + [True])


@hypothesis.settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
@hypothesis.given(data=st.data())
def test_score_never_nan_nor_internal_error(data):
    draw = data.draw
    if draw(_sometimes(0.1).map(lambda x: not x), label="rank 2"):
        shape = (draw(st.integers(0, 5)), draw(st.sampled_from([3] * 8 + [0, 2, 4])))
    else:
        shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3), label="shape"))
    n = math.prod(shape)
    regime = draw(st.sampled_from(["moderate"] * 3 + ["large", "special"]))
    values = draw(st.lists(_REGIMES[regime], min_size=n, max_size=n), label="values")
    dtype_ = draw(st.sampled_from(_DTYPES), label="dtype")
    z = torch.tensor(values, dtype=torch.float64).reshape(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN/inf cast to an integer dtype
        z = z.to(dtype_)
    if draw(_sometimes(0.05), label="as list"):
        z = z.tolist()
    elif z.is_floating_point() and draw(st.booleans(), label="requires_grad"):
        z.requires_grad_()
    kwargs = dict(
        formula=draw(st.sampled_from(["paper", "forward"])),
        jacobian=draw(st.sampled_from(["forward", "fd", "reverse"])),
        grad=draw(st.sampled_from(["exact", "cpa"])),
        chunk_size=draw(st.sampled_from([None, 1, 2, 16])),
        rho=draw(st.sampled_from([1.0, 0.5, 0.0])),
    )
    s = sc.ScaLES(_DECODERS[draw(st.sampled_from(sorted(_DECODERS)))], **kwargs)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = s(z)
    except ValueError as err:
        hypothesis.event("ValueError: " + str(err)[:30])
        return
    hypothesis.event("-inf rows" if torch.isneginf(value).any() else "finite")
    assert value.shape == (len(z),)
    assert not torch.isnan(value).any(), value
    minus_inf = torch.isneginf(value)
    assert torch.isfinite(value[~minus_inf]).all(), value
    if minus_inf.any():
        assert any("rank-deficient" in str(w.message) for w in caught)
    if isinstance(z, torch.Tensor) and z.requires_grad:
        (g,) = torch.autograd.grad(value.masked_fill(minus_inf, 0.0).sum(), z)
        assert torch.isfinite(g).all(), g
