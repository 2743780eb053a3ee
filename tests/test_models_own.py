"""The project's own VAE folders (models/own.py): the vocabulary checksum, and
damaged files named with their fix."""

from __future__ import annotations

import json

import pytest
from conftest import _assert_names_file_and_fix

# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def own_copy(tmp_path):
    """A copy of the shipped SELFIES transformer's folder."""
    import shutil

    from scales_core.models.own import WEIGHTS_DIR

    folder = tmp_path / "selfies"
    shutil.copytree(WEIGHTS_DIR / "selfies_transformer", folder)
    return folder


def test_shipped_model_stores_a_vocabulary_checksum(own_copy):
    from scales_core.models import load_vae
    from scales_core.models.own import vocab_checksum

    record = json.loads((own_copy / "record.json").read_text())
    vocab = json.loads((own_copy / "vocab.json").read_text())
    assert record["vocab_sha256"] == vocab_checksum(vocab)
    assert load_vae(own_copy).vocab.tokens == vocab


@pytest.mark.parametrize("where", ["record.json", "config.json"])
def test_permuted_own_vocabulary_is_detected(own_copy, where):
    from scales_core._files import CorruptFileError
    from scales_core.models import load_vae
    from scales_core.models.own import vocab_checksum

    vocab = json.loads((own_copy / "vocab.json").read_text())
    if where == "config.json":  # checksum in config.json only (save_vae's folders)
        config = json.loads((own_copy / "config.json").read_text())
        config["vocab_sha256"] = vocab_checksum(vocab)
        (own_copy / "config.json").write_text(json.dumps(config))
        (own_copy / "record.json").unlink()
    vocab[5], vocab[6] = vocab[6], vocab[5]  # same symbols, two swapped
    (own_copy / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(CorruptFileError, match="reordered or edited") as error:
        load_vae(own_copy)
    assert str(own_copy / "vocab.json") in str(error.value) and where in str(
        error.value
    )


def test_save_vae_stores_the_vocabulary_checksum(tmp_path, own_copy):
    from scales_core.models import load_vae, save_vae

    folder = save_vae(load_vae(own_copy), tmp_path / "saved", record={"note": 1})
    config = json.loads((folder / "config.json").read_text())
    record = json.loads((folder / "record.json").read_text())
    assert len(config["vocab_sha256"]) == 64 == len(record["vocab_sha256"])
    vocab = json.loads((folder / "vocab.json").read_text())
    (folder / "vocab.json").write_text(json.dumps(vocab[:3] + vocab[4:] + vocab[3:4]))
    with pytest.raises(ValueError, match="reordered"):
        load_vae(folder)


@pytest.mark.parametrize(
    "file, content, message",
    [
        ("model.pt", b"PK\x03\x04 cut", "not a readable model weights"),
        ("config.json", b'{"model": "selfies_tr', "not a readable model config"),
        ("vocab.json", b"[1, 2, 3]", "not a list of symbols"),
        (
            "config.json",
            b'{"model": "selfies_transformer", "config": {"d": 1}}',
            "do not describe a model",
        ),
    ],
)
def test_damaged_own_model_names_the_file(own_copy, file, content, message):
    from scales_core._files import CorruptFileError
    from scales_core.models import load_vae

    (own_copy / file).write_bytes(content)
    with pytest.raises(CorruptFileError, match=message) as error:
        load_vae(own_copy)
    _assert_names_file_and_fix(str(error.value), own_copy / file, "Restore the folder")


def test_truncated_own_weights_name_the_file(own_copy):
    from scales_core._files import CorruptFileError
    from scales_core.models import load_vae

    path = own_copy / "model.pt"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CorruptFileError) as error:
        load_vae(own_copy)
    _assert_names_file_and_fix(str(error.value), path, "Restore the folder")
