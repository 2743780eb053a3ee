"""The published character VAEs load strictly and decode to the right shapes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from conftest import _assert_names_file_and_fix, needs_data

import scales_core as sc
from scales_core.models import PAPER_CHECKPOINTS

CKPT = "checkpoints/paper/expressions_gru_1/w.pth"
SHAPES = {"expressions": (25, 19, 15), "smiles": (56, 120, 35)}


@needs_data("checkpoints/paper/expressions_gru_1/w.pth")
@pytest.mark.parametrize("name", PAPER_CHECKPOINTS)
def test_checkpoint_loads_and_decodes(name):
    vae = sc.models.load_paper_vae(name)
    d, L, D = SHAPES[name.split("_")[0]]
    assert vae.latent_dim == d and not vae.training
    z = torch.randn(3, d)
    logits = vae.decoder(z)
    assert logits.shape == (3, L, D) and torch.isfinite(logits).all()
    strings = vae.decode_strings(z)
    assert len(strings) == 3 and all(
        isinstance(s, str) and len(s) <= L for s in strings
    )
    assert vae.encode(strings).shape == (3, d)


@needs_data("expressions/equation2_15_dataset.txt")
def test_expressions_encode_decode_is_informative():
    # The decoder's NLL of a training expression is far lower at its own code than
    # at another expression's code.
    import os

    path = os.path.join(
        os.environ["SCALES_DATA_DIR"], "expressions/equation2_15_dataset.txt"
    )
    with open(path) as fh:
        lines = [line.strip().replace(" ", "") for _, line in zip(range(20000), fh)]
    strings = [s for s in lines[::400] if len(s) <= 19][:40]
    vae = sc.models.load_paper_vae("expressions_gru_0.05")
    tokens = vae.tokenize(strings)
    mu = vae.encode(strings)

    def nll(z):
        logp = torch.log_softmax(vae.decoder(z), -1)
        return -logp.gather(-1, tokens[..., None]).squeeze(-1).sum(-1)

    with torch.no_grad():
        own, other = nll(mu), nll(mu.roll(1, 0))
    assert own.median() < 0.2 * other.median(), (own.median(), other.median())
    assert (own < other).float().mean() > 0.9


def test_unknown_checkpoint_and_missing_file(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="unknown checkpoint"):
        sc.models.load_paper_vae("expressions_rnn_1")
    monkeypatch.setenv("SCALES_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SCALES_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="SCALES_DATA_DIR"):
        sc.models.load_paper_vae("expressions_gru_1")


@needs_data("checkpoints/paper/smiles_gru_1/w.pth")
def test_smiles_score_matches_torch_func_jacobian():
    # The hand-written forward mode on the real checkpoint equals torch.func's.
    vae = sc.models.load_paper_vae("smiles_gru_1")
    dec = vae.decoder.double()
    z = torch.randn(2, 56, dtype=torch.float64)
    own = sc.logits_and_jacobian(dec, z)[1]
    func = sc.logits_and_jacobian(dec, z, use_decoder_jvp=False)[1]
    torch.testing.assert_close(
        own, func, rtol=1e-8, atol=1e-8 * func.abs().max().item()
    )


def test_tokenize_errors():
    from scales_core.models import CharVAE, CharVAEConfig
    from scales_core.models.paper import EXPRESSIONS_VOCAB

    cfg = CharVAEConfig(
        vocab_size=15,
        max_len=19,
        latent_dim=25,
        conv_channels=(2, 3, 4),
        conv_kernels=(2, 3, 4),
    )
    vae = CharVAE(cfg, EXPRESSIONS_VOCAB, pad_index=14)
    with pytest.raises(ValueError, match="unknown symbols"):
        vae.tokenize(["x+y"])
    with pytest.raises(ValueError, match="longer than"):
        vae.tokenize(["x+" * 10])
    assert vae.detokenize(vae.tokenize(["sin(x)+1"])) == ["sin(x)+1"]


@pytest.mark.parametrize("feedback", ["softmax", "zeros", "argmax"])
def test_feedback_rules_forward_mode_matches_autograd(feedback):
    from scales_core.models.char_vae import CharDecoder, CharVAEConfig

    torch.manual_seed(0)
    cfg = CharVAEConfig(
        vocab_size=6, max_len=5, latent_dim=3, hidden=8, feedback=feedback
    )
    dec = CharDecoder(cfg).double().eval()
    z = torch.randn(4, 3, dtype=torch.float64)
    logits, A = dec.logits_and_jacobian(z)
    torch.testing.assert_close(logits, dec(z))
    torch.testing.assert_close(A, sc.decoder_jacobian(dec, z, method="reverse"))
    if (
        feedback == "zeros"
    ):  # step t does not see step t - 1: the same logits as no feedback weights
        dec2 = CharDecoder(cfg).double().eval()
        dec2.load_state_dict(dec.state_dict())
        dec2.output_projection.weight.data.normal_()
        torch.testing.assert_close(dec2(z), dec(z))
    with pytest.raises(ValueError, match="feedback"):
        CharVAEConfig(vocab_size=6, max_len=5, latent_dim=3, feedback="onehot")


@needs_data("checkpoints/paper_2024/expressions/w.pth")
def test_first_release_checkpoint_loads_with_zero_feedback():
    vae = sc.models.load_paper_vae("paper_2024_expressions")
    assert vae.decoder.cfg.feedback == "zeros" and vae.latent_scale == 0.1
    from scales_core.datasets import get_dataset

    assert "paper_2024_expressions" in get_dataset("expressions").models
    z = torch.randn(3, 25) * 0.1
    assert vae.decoder(z).shape == (3, 19, 15)


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """An empty data folder (and cache) of its own, offline."""
    root = tmp_path / "data"
    monkeypatch.setenv("SCALES_DATA_DIR", str(root))
    monkeypatch.setenv("SCALES_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SCALES_OFFLINE", "1")
    return root


SHARED = Path(os.environ.get("SCALES_DATA_DIR", "/nonexistent"))  # before monkeypatch


def _shared(relative):
    return SHARED / relative


@pytest.mark.usefixtures("one_thread")
@needs_data(CKPT)
@pytest.mark.parametrize("damage", ["truncated", "other-weights", "text"])
def test_damaged_paper_checkpoint_names_the_file(data_copy, damage):
    from scales_core._files import CorruptFileError
    from scales_core.models import load_paper_vae

    good = _shared(CKPT).read_bytes()
    path = data_copy / CKPT
    path.parent.mkdir(parents=True)
    if damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "other-weights":
        torch.save({"encoder.mu.weight": torch.zeros(2, 2)}, path)
    else:
        path.write_text("not a checkpoint")
    with pytest.raises(CorruptFileError) as error:
        load_paper_vae("expressions_gru_1")
    _assert_names_file_and_fix(str(error.value), path, "Replace it with the published")


@pytest.mark.usefixtures("one_thread")
@needs_data("checkpoints/paper/smiles_vocab.yaml")
@pytest.mark.parametrize("damage", ["permuted", "broken-yaml"])
def test_damaged_paper_vocabulary_is_refused(data_copy, damage):
    import yaml

    from scales_core.models.paper import smiles_vocab

    relative = "checkpoints/paper/smiles_vocab.yaml"
    mapping = yaml.safe_load(_shared(relative).read_text())
    path = data_copy / relative
    path.parent.mkdir(parents=True)
    if damage == "permuted":
        first, second = list(mapping)[:2]
        mapping[first], mapping[second] = mapping[second], mapping[first]
        path.write_text(yaml.safe_dump(mapping))
    else:
        path.write_text("C: [0\n")
    with pytest.raises(ValueError, match="checksum mismatch") as error:
        smiles_vocab()
    assert str(path) in str(error.value) and "replace it" in str(error.value)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize(
    "content, message",
    [
        ("'90': [oops\n", "not a readable UC threshold file"),
        ("'90': -3\n'95': -2\n", "must map exactly the keys"),
        ("'90': -1\n'95': -2\n'99': -3\nmax: 0\n", "increasing quantiles"),
        ("'90': .nan\n'95': -2\n'99': -1\nmax: 0\n", "finite"),
        ("- 1\n- 2\n", "must map exactly the keys"),
    ],
)
def test_damaged_threshold_file_names_the_file(data_copy, content, message):
    from scales_core._files import CorruptFileError
    from scales_core.models.paper import load_uncertainty_thresholds

    path = data_copy / "checkpoints/paper/uncertainty_thresholds/expressions_gru_1.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(CorruptFileError, match=message) as error:
        load_uncertainty_thresholds("expressions_gru_1")
    _assert_names_file_and_fix(str(error.value), path, "Replace it with the published")
