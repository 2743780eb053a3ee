"""The score, its gradients, the BoTorch penalty and BO on every available device.

CUDA cases skip without a GPU (``scripts/gpu_check.sh`` runs them on one). The
decoders here are built from random weights, so no data files are needed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from botorch.acquisition import PosteriorMean
from botorch.acquisition.penalized import PenalizedAcquisitionFunction
from botorch.models import SingleTaskGP
from conftest import TINY_TRANSFORMER
from torch.testing import assert_close

import scales_core as sc
from scales_core.bo import BOConfig, Problem, run_bo
from scales_core.jacobian import logits_and_jacobian
from scales_core.models.char_vae import CharDecoder, CharVAEConfig

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


def char_decoder(cell: str = "gru", L: int = 12, d: int = 4) -> CharDecoder:
    """A small random character decoder (hand-written forward mode), frozen."""
    torch.manual_seed(1)
    cfg = CharVAEConfig(vocab_size=7, max_len=L, latent_dim=d, hidden=16, cell=cell)
    return CharDecoder(cfg).eval().requires_grad_(False)


def selfies_decoder():
    return sc.models.load_vae("selfies_transformer").decoder.requires_grad_(False)


def score_and_grad(score, z):
    x = z.detach().clone().requires_grad_()
    value = score(x)
    (g,) = torch.autograd.grad(value.sum(), x)
    return value.detach(), g


# --- positions: a causal decoder stops early with identical values ---------------


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_char_decoder_stops_at_positions(device, cell):
    dec = char_decoder(cell).to(device)
    z = torch.randn(3, 4, device=device)
    logits, A = logits_and_jacobian(dec, z)
    logits5, A5 = logits_and_jacobian(dec, z, positions=5)
    assert logits5.shape == (3, 5, 7) and A5.shape == (3, 5 * 7, 4)
    # bit for bit on the CPU; cuBLAS may pick another kernel for another length
    tol = dict(rtol=0, atol=0) if device.type == "cpu" else dict(rtol=1e-6, atol=1e-6)
    assert_close(logits5, logits[:, :5], **tol)
    assert_close(A5, A[:, : 5 * 7], **tol)
    assert_close(dec(z, positions=5), dec(z)[:, :5], **tol)
    with pytest.raises(ValueError, match="positions"):
        dec(z, positions=0)


def test_selfies_decoder_stops_at_positions(device):
    dec = selfies_decoder().to(device)
    z = torch.randn(2, dec.latent_dim, device=device)
    logits, A = logits_and_jacobian(dec, z, cuda_graph=False)
    logits20, A20 = logits_and_jacobian(dec, z, positions=20, cuda_graph=False)
    assert logits20.shape[1] == 20
    assert_close(logits20, logits[:, :20], rtol=1e-5, atol=1e-5)
    assert_close(A20, A[:, : A20.shape[1]], rtol=1e-5, atol=1e-5)


def test_score_with_positions_equals_trimmed_naive(device):
    """ScaLES(positions=K) on a stopping decoder = the Eq. 13 reference on K rows."""
    from scales_core.reference import naive_paper_score

    dec = char_decoder().double().to(device)
    z = torch.randn(3, 4, dtype=torch.float64, device=device)
    ours = sc.ScaLES(dec, positions=6)(z)
    ref = naive_paper_score(dec, z, positions=6)
    assert_close(ours, ref.to(ours), rtol=1e-7, atol=1e-7)


def test_bo_scores_use_the_problems_positions(device):
    """The BO runner's ScaLES stops the decoder at ``Problem.positions``: same value
    and CPA gradient as decoding all `L` positions and trimming to `K`."""
    from dataclasses import replace

    from scales_core.bo.methods import get_method
    from scales_core.bo.step import StepRunner

    problem = replace(toy_problem(device), positions=6)
    config = BOConfig(n_steps=1, q=2, scales_grad="cpa", device=str(device))
    runner = StepRunner(problem, get_method("scales_0.5"), 0, config)
    assert runner.penalty is runner.scales and runner.scales.positions == 6
    dec = problem.decoder
    trimmed = sc.ScaLES(lambda z: dec(z)[:, :6], grad="cpa", cuda_graph=False)
    z = torch.randn(3, 4, dtype=torch.float64, device=device) * 0.5
    v, g = score_and_grad(runner.scales, z)
    v_ref, g_ref = score_and_grad(trimmed, z)
    assert_close(v, v_ref, rtol=1e-6, atol=1e-6)
    assert_close(g, g_ref, rtol=1e-6, atol=1e-6)
    # and it is not the all-positions score
    assert not torch.allclose(v, sc.ScaLES(dec.double(), grad="cpa")(z).to(v))


# --- CUDA against CPU -------------------------------------------------------------


@needs_cuda
@pytest.mark.parametrize("grad", ["exact", "cpa"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_cuda_matches_cpu_char(grad, cell):
    dec = char_decoder(cell, L=20)
    z = torch.randn(5, 4, dtype=torch.float64)
    v_cpu, g_cpu = score_and_grad(sc.ScaLES(dec, grad=grad), z)
    dec_gpu = char_decoder(cell, L=20).cuda()
    v_gpu, g_gpu = score_and_grad(sc.ScaLES(dec_gpu, grad=grad), z.cuda())
    assert_close(v_gpu.cpu(), v_cpu, rtol=1e-4, atol=1e-4)
    assert_close(g_gpu.cpu(), g_cpu, rtol=1e-3, atol=1e-3)


@needs_cuda
def test_cuda_matches_cpu_selfies():
    z = torch.randn(3, 256, dtype=torch.float64)
    v_cpu, g_cpu = score_and_grad(sc.ScaLES(selfies_decoder(), positions=30), z)
    score = sc.ScaLES(selfies_decoder().cuda(), positions=30)
    v_gpu, g_gpu = score_and_grad(score, z.cuda())
    assert_close(v_gpu.cpu(), v_cpu, rtol=1e-4, atol=1e-3)
    assert_close(g_gpu.cpu(), g_cpu, rtol=1e-3, atol=1e-3)


# --- CUDA graphs ------------------------------------------------------------------


@needs_cuda
@pytest.mark.parametrize("grad", ["exact", "cpa"])
def test_graph_replay_matches_eager(grad):
    dec = char_decoder(L=20).cuda()
    z = torch.randn(4, 4, device="cuda", dtype=torch.float64)
    eager = sc.ScaLES(dec, grad=grad, cuda_graph=False)
    graphs = sc.ScaLES(dec, grad=grad)
    for _ in range(3):  # capture, then replays
        v, g = score_and_grad(graphs, z)
    v_ref, g_ref = score_and_grad(eager, z)
    assert_close(v, v_ref, rtol=1e-6, atol=1e-6)
    assert_close(g, g_ref, rtol=1e-5, atol=1e-6)


@needs_cuda
def test_graph_backward_of_an_earlier_call_is_its_own():
    """Two calls share the graph's buffers; each backward belongs to its call."""
    dec = char_decoder(L=20).cuda()
    score = sc.ScaLES(dec)
    z1, z2 = (torch.randn(2, 4, device="cuda").requires_grad_() for _ in range(2))
    s1, s2 = score(z1), score(z2)
    (g1,) = torch.autograd.grad(s1.sum(), z1)
    (g2,) = torch.autograd.grad(s2.sum(), z2)
    eager = sc.ScaLES(dec, cuda_graph=False)
    for z, s, g in ((z1, s1, g1), (z2, s2, g2)):
        v_ref, g_ref = score_and_grad(eager, z.detach())
        assert_close(s.detach(), v_ref, rtol=1e-5, atol=1e-5)
        assert_close(g, g_ref, rtol=1e-5, atol=1e-5)


@needs_cuda
def test_graph_declined_when_weights_need_gradients():
    """With trainable weights the graphs are not used, so weights get gradients."""
    dec = char_decoder(L=10).cuda().requires_grad_(True)
    z = torch.randn(2, 4, device="cuda")
    sc.ScaLES(dec)(z).sum().backward()
    assert dec.project.weight.grad is not None
    assert torch.isfinite(dec.project.weight.grad).all()


# --- the BoTorch penalty and BO ---------------------------------------------------


def test_penalty_on_device(device):
    dec = char_decoder(L=15).double().to(device)
    tkwargs = dict(dtype=torch.float64, device=device)
    gen = torch.Generator().manual_seed(0)
    train_X = torch.rand(8, 4, generator=gen, dtype=torch.float64).to(device)
    gp = SingleTaskGP(train_X, train_X.sum(-1, keepdim=True))
    acq = PenalizedAcquisitionFunction(
        PosteriorMean(gp), sc.ScaLESPenalty(dec), regularization_parameter=0.5
    )
    X = torch.rand(3, 1, 4, generator=gen, dtype=torch.float64).to(**tkwargs)
    X.requires_grad_()
    value = acq(X)
    value.sum().backward()
    expected = PosteriorMean(gp)(X) + 0.5 * sc.ScaLES(dec)(X.squeeze(1))
    assert_close(value, expected, rtol=1e-6, atol=1e-6)
    assert X.grad is not None and torch.isfinite(X.grad).all()


def toy_problem(device: torch.device) -> Problem:
    """A random character decoder whose decoded symbols are scored by count."""
    dec = char_decoder(L=10).to(device)
    symbols = "abcdefg"

    def decode(z):
        idx = dec(z.to(device)).argmax(-1).cpu().tolist()
        return ["".join(symbols[i] for i in row) for row in idx]

    def evaluate(strings):
        values = np.array([s.count("a") - s.count("b") / 2 for s in strings], float)
        valid = np.array(["g" not in s[:2] for s in strings])
        return values, valid, [None if ok else "starts with g" for ok in valid]

    gen = torch.Generator().manual_seed(0)
    X = torch.randn(12, 4, generator=gen, dtype=torch.float64)
    strings = decode(X)
    values, _, _ = evaluate(strings)
    return Problem(
        task="toy",
        decoder=dec,
        decode=decode,
        evaluate=evaluate,
        strings=strings,
        train_X=X,
        train_Y=torch.as_tensor(values),
    )


@pytest.mark.parametrize("method", ["ga", "scales_0.5", "scales_es_50"])
def test_two_bo_steps_on_device(device, method):
    config = BOConfig(n_steps=2, q=2, ga_steps=3, device=str(device))
    data = run_bo(toy_problem(device), method, seed=0, config=config, progress=False)
    assert len(data.oracle) == 4
    latents = torch.tensor([c["latent"] for c in data.oracle])
    assert torch.isfinite(latents).all()
    assert all(np.isfinite(c["scales"]) for c in data.oracle)
    assert data.header["parameters"]["device"] == str(device)


def test_bo_config_device_checked():
    with pytest.raises(ValueError, match="device"):
        BOConfig(device="tpu")
    if not CUDA:
        with pytest.raises(ValueError, match="no CUDA"):
            BOConfig(device="cuda")


def test_device_is_not_part_of_a_runs_identity():
    """A CPU run may be resumed on a GPU; old headers have no device field."""
    from scales_core.bo.run_record import header_differences

    old = {"task": "t", "parameters": {"q": 5}}
    new = {"task": "t", "parameters": {"q": 5, "device": "cuda:0"}}
    assert header_differences(old, new) == []
    new["parameters"]["q"] = 4
    assert header_differences(old, new) == ["parameters.q: stored 5, requested 4"]


# --- training and the validity experiment take a device ---------------------------


def test_training_on_device(tmp_path, device):
    from scales_core import train

    data = tmp_path / "mols.txt"
    data.write_text("\n".join(["CCO", "c1ccccc1", "CC(=O)NC", "OCC#N", "C1CCNC1"] * 3))
    held = tmp_path / "held.txt"
    held.write_text("\n".join(["CCCO", "c1ccoc1", "CCCN"]))
    record = train.main(
        [
            "--model",
            "selfies_transformer",
            "--out",
            str(tmp_path / "run"),
            "--train-file",
            str(data),
            "--heldout-file",
            str(held),
            "--batch-size",
            "4",
            "--n-prior",
            "4",
            "--no-progress",
            "--checkpoint-minutes",
            "0",
            "--warmup-steps",
            "1",
            "--max-steps",
            "2",
            "--device",
            str(device),
            *TINY_TRANSFORMER,
        ]
    )
    assert record["steps"] == 2 and record["args"]["device"] == str(device)
    assert np.isfinite(record["final_metrics"]["recon"])


def test_training_device_checked(tmp_path):
    from scales_core import train

    with pytest.raises(SystemExit, match="--device"):
        train.main(
            [
                "--model",
                "char_expressions",
                "--out",
                str(tmp_path / "r"),
                "--device",
                "tpu",
            ]
        )


def test_validity_scores_on_device(device):
    """``score_draw`` runs where the decoder is; values match the CPU."""
    from scales_core.validity_auroc import score_draw

    z = torch.randn(6, 4, dtype=torch.float64)
    cpu = score_draw(char_decoder(L=15).double(), z, positions=8, batch_size=4)
    here = score_draw(
        char_decoder(L=15).double().to(device), z, positions=8, batch_size=4
    )
    for key in cpu:
        np.testing.assert_allclose(here[key], cpu[key], rtol=1e-6, atol=1e-6)


def test_graphs_apply_only_to_frozen_decoders_on_a_gpu(monkeypatch):
    """``graphed`` declines CPU inputs, train mode and disabled graphs (eager is used)."""
    from scales_core.cuda_graph import graphed, graphs_enabled

    dec = char_decoder()
    z = torch.randn(2, 4)
    assert graphed(dec.logits_and_jacobian, z, dec) is None
    monkeypatch.setenv("SCALES_CUDA_GRAPHS", "0")
    assert not graphs_enabled()
    if CUDA:
        assert graphed(dec.cuda().logits_and_jacobian, z.cuda(), dec) is None


@needs_cuda
@pytest.mark.parametrize("grad", ["exact", "cpa"])
def test_chunked_score_with_graphs_matches_whole_eager(grad):
    """Chunks recomputed in the backward pass replay their own graphs correctly."""
    dec = char_decoder(L=20).cuda()
    z = torch.randn(5, 4, device="cuda", dtype=torch.float64)
    v, g = score_and_grad(sc.ScaLES(dec, grad=grad, chunk_size=2), z)
    v_ref, g_ref = score_and_grad(
        sc.ScaLES(dec, grad=grad, chunk_size=None, cuda_graph=False), z
    )
    assert_close(v, v_ref, rtol=1e-6, atol=1e-6)
    assert_close(g, g_ref, rtol=1e-5, atol=1e-6)


def test_sweep_checks_the_device_before_any_worker(tmp_path):
    from scales_core import sweep

    args = [
        "--methods",
        "ga",
        "--out",
        str(tmp_path),
        "--steps",
        "1",
        "--device",
        "tpu",
    ]
    assert sweep.main(args) == 2
    assert not any(tmp_path.iterdir())
