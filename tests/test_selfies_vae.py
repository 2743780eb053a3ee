"""SELFIES transformer VAE: shapes, tokens, determinism, Jacobian engines, ScaLES,
and the shipped weights."""

from __future__ import annotations

import pytest
import selfies as sf
import torch

import scales_core as sc
from scales_core.models.own import WEIGHTS_DIR, load_vae, save_vae
from scales_core.models.selfies_vae import SelfiesVAE, SelfiesVAEConfig
from scales_core.models.selfies_vocab import SelfiesVocab, to_selfies_tokens

SMILES = ["CCO", "c1ccccc1", "CC(=O)NC", "OCC#N", "C1CCNC1"]


def tiny_vae(dtype=torch.float64, dropout=0.0, L=12, d=5):
    vocab = SelfiesVocab.build(to_selfies_tokens(s) for s in SMILES)
    cfg = SelfiesVAEConfig(
        vocab_size=len(vocab),
        max_len=L,
        latent_dim=d,
        d_model=16,
        n_heads=2,
        enc_layers=1,
        dec_layers=2,
        ff_mult=2,
        n_memory=2,
        dropout=dropout,
    )
    return SelfiesVAE(cfg, vocab).to(dtype).eval()


def test_shapes():
    vae = tiny_vae()
    z = torch.randn(3, 5, dtype=torch.float64)
    assert vae.decoder(z).shape == (3, 12, len(vae.vocab))
    assert vae.encode(SMILES).shape == (len(SMILES), 5)
    assert vae.encode(SMILES, sample=True).shape == (len(SMILES), 5)
    strings = vae.decode_strings(z)
    assert len(strings) == 3 and all(isinstance(s, str) for s in strings)
    assert vae.latent_dim == vae.decoder.latent_dim == 5


def test_tokenize_round_trip():
    vae = tiny_vae()
    selfies = [sf.encoder(s) for s in SMILES]
    tokens = vae.tokenize(SMILES)
    assert tokens.shape == (len(SMILES), 12)
    assert vae.detokenize(tokens) == selfies
    # SELFIES strings and symbol lists give the same indices
    assert torch.equal(vae.tokenize(selfies), tokens)
    symbols = [list(sf.split_selfies(s)) for s in selfies]
    assert torch.equal(vae.tokenize(symbols), tokens)
    # stop after the symbols, padding after it
    n = len(list(sf.split_selfies(selfies[0])))
    assert tokens[0, n] == vae.vocab.stop and (tokens[0, n + 1 :] == 0).all()
    back = vae.vocab.to_smiles(vae.detokenize(tokens))
    canon = [sf.decoder(s) for s in selfies]
    assert back == canon


def test_tokenize_errors():
    vae = tiny_vae()
    with pytest.raises(ValueError, match="unknown SELFIES symbols"):
        vae.tokenize(["CCl"])
    with pytest.raises(ValueError, match="more than L-1"):
        vae.tokenize(["C" * 20])
    with pytest.raises(TypeError):
        vae.tokenize("CCO")
    kept, idx = vae.vocab.encode(["CCO", "CCl", "C" * 20], 12, drop_bad=True)
    assert idx == [0] and kept.shape == (1, 12)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_decoder_deterministic_in_eval(dropout):
    vae = tiny_vae(dropout=dropout)
    z = torch.randn(6, 5, dtype=torch.float64)
    torch.testing.assert_close(vae.decoder(z), vae.decoder(z), rtol=0, atol=0)


def test_greedy_matches_logits():
    vae = tiny_vae(torch.float32)
    z = 3 * torch.randn(50, 5)
    tokens = vae.decode_tokens(z)
    logits = vae.decoder(z)
    # until (and including) the first stop/pad, the greedy tokens are the argmax
    ended = (tokens == 0) | (tokens == vae.vocab.stop)
    alive = torch.cat([torch.ones_like(ended[:, :1]), ~ended[:, :-1]], 1)
    alive = alive.cummin(1).values
    assert ((logits.argmax(-1) == tokens) | ~alive).all()
    # after the end only padding
    assert (tokens[~alive] == 0).all()


def test_jacobian_engines_agree():
    dec = tiny_vae().decoder
    z = torch.randn(4, 5, dtype=torch.float64)
    logits, own = sc.logits_and_jacobian(dec, z, method="forward")
    rev = sc.decoder_jacobian(dec, z, method="reverse")
    func = sc.logits_and_jacobian(dec, z, method="forward", use_decoder_jvp=False)[1]
    fd = sc.decoder_jacobian(dec, z, method="fd", eps=1e-7)
    assert own.shape == (4, 12 * dec.cfg.vocab_size, 5)
    torch.testing.assert_close(logits, dec(z))
    torch.testing.assert_close(own, rev, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(func, rev, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(fd, rev, rtol=1e-5, atol=1e-5)


def test_own_jacobian_second_order():
    # d/dz <A(z), w> of the hand-written forward mode against reverse mode (double
    # backward) and central differences. (torch.func.jvp is not a reference here:
    # backward through layer_norm's JVP is wrong in torch, pytorch#196700.)
    dec = tiny_vae().decoder
    z = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 12 * dec.cfg.vocab_size, 5, dtype=torch.float64)
    (g_own,) = torch.autograd.grad((dec.logits_and_jacobian(z)[1] * w).sum(), z)
    rev = sc.decoder_jacobian(dec, z, method="reverse")
    (g_rev,) = torch.autograd.grad((rev * w).sum(), z)
    torch.testing.assert_close(g_own, g_rev, rtol=1e-9, atol=1e-9)
    h, fd = 1e-5, torch.zeros(2, 5, dtype=torch.float64)
    with torch.no_grad():
        for k in range(5):
            e = torch.zeros(2, 5, dtype=torch.float64)
            e[:, k] = h
            plus = (dec.logits_and_jacobian(z + e)[1] * w).sum((1, 2))
            minus = (dec.logits_and_jacobian(z - e)[1] * w).sum((1, 2))
            fd[:, k] = (plus - minus) / (2 * h)
    torch.testing.assert_close(g_own, fd, rtol=1e-6, atol=1e-7)


def test_greedy_carries_no_tangent():
    # under torch.func.jvp/vmap the greedy pass must run once, on plain values
    dec = tiny_vae().decoder
    seen = []
    greedy = dec.greedy

    def spy(z, *args, **kwargs):
        seen.append(torch._C._functorch.is_batchedtensor(z))
        return greedy(z, *args, **kwargs)

    dec.greedy = spy
    sc.logits_and_jacobian(dec, torch.randn(2, 5).double(), use_decoder_jvp=False)
    assert seen and not any(seen)


@pytest.mark.parametrize("positions", [None, 6])
def test_scales_runs(positions):
    dec = tiny_vae().decoder
    z = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    score = sc.ScaLES(dec, positions=positions)(z)
    assert score.shape == (3,) and torch.isfinite(score).all()
    (grad,) = torch.autograd.grad(score.sum(), z)
    assert torch.isfinite(grad).all()
    # the exact gradient matches finite differences of the score
    h = 1e-6
    e = torch.zeros_like(z)
    e[:, 0] = h
    with torch.no_grad():
        s = sc.ScaLES(dec, positions=positions)
        fd = (s(z + e) - s(z - e)) / (2 * h)
    torch.testing.assert_close(grad[:, 0], fd, rtol=1e-4, atol=1e-5)


def test_save_load_round_trip(tmp_path):
    vae = tiny_vae(torch.float32)
    save_vae(vae, tmp_path / "m", record={"note": "test"})
    loaded = load_vae(tmp_path / "m")
    assert not loaded.training
    z = torch.randn(4, 5)
    torch.testing.assert_close(loaded.decoder(z), vae.decoder(z))
    assert loaded.vocab.tokens == vae.vocab.tokens


def test_load_vae_unknown_name():
    with pytest.raises(ValueError, match="unknown model"):
        load_vae("no_such_model")


@pytest.mark.skipif(
    not (WEIGHTS_DIR / "selfies_transformer" / "model.pt").exists(),
    reason="trained weights not present",
)
def test_shipped_weights_decode_valid_molecules():
    from scales_core.tasks.validity import is_valid_smiles

    vae = sc.models.load_vae("selfies_transformer")
    assert isinstance(vae, SelfiesVAE) and not vae.training
    assert vae.latent_dim == 256
    z = torch.randn(20, 256, generator=torch.Generator().manual_seed(0))
    logits = vae.decoder(z[:2])
    assert logits.shape == (2, vae.cfg.max_len, len(vae.vocab))
    smiles = vae.decode_strings(z)
    assert sum(map(is_valid_smiles, smiles)) >= 18
    # a training-like molecule is reconstructed
    mol = "CC(=O)Nc1ccc(O)cc1"
    assert vae.decode_strings(vae.encode([mol]))[0] != ""
