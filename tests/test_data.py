"""Datasets, tokenization, checksums and the download fallback."""

from __future__ import annotations

import io
import itertools
import os
import shutil
import urllib.error
import zipfile
from pathlib import Path

import pytest
import torch
from conftest import needs_data

from scales_core import data, sources
from scales_core.grammar import ExpressionSyntaxError, _Parser, parse_expression
from scales_core.grammar_sampling import (
    count_derivations,
    enumerate_grammarvae_expressions,
    generate_expressions,
)
from scales_core.paths import DataNotFoundError

DATA = os.environ.get("SCALES_DATA_DIR")


@pytest.fixture
def no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty data folder and cache, downloads disabled."""
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("SCALES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SCALES_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SCALES_OFFLINE", "1")
    return tmp_path


# ------------------------------------------------------------------ grammar


def test_count_derivations_matches_brute_force() -> None:
    tokens = ["x", "1", "2", "3", "+", "*", "/", "(", "sin(", "exp(", ")"]
    found = 0
    for k in range(1, 6):  # <= 6 rules means <= 5 tokens
        for seq in itertools.product(tokens, repeat=k):
            parser = _Parser(list(seq))
            try:
                parser.sum(0)
            except ExpressionSyntaxError:
                continue
            found += parser.pos == k and parser.rules <= 6
    assert found == count_derivations(6, None) == 1108


def test_generate_expressions_parse_within_budget() -> None:
    drawn = generate_expressions(300, seed=3)
    assert len(set(drawn)) == 300
    for text in drawn:
        parsed = parse_expression(text)
        assert parsed.n_rules <= 15 and len(text) <= 19 and " " not in text
    assert drawn == generate_expressions(300, seed=3)
    assert drawn != generate_expressions(300, seed=4)
    small = generate_expressions(4, seed=0, max_rules=2)
    assert sorted(small) == ["1", "2", "3", "x"]
    with pytest.raises(ValueError, match="only 4"):
        generate_expressions(5, seed=0, max_rules=2)


def test_enumeration_structure() -> None:
    full = enumerate_grammarvae_expressions(None)
    assert len(full) == 122_880 and len(set(full)) == len(full)
    head = enumerate_grammarvae_expressions(3)
    assert head == ["x+x+(x)+(x+x)", "x+x+(x)+(x+1)", "x+x+(x)+(x+2)"]
    assert max(len(s) for s in full) == 19
    assert max(parse_expression(s).n_rules for s in full[::97]) <= 15


@pytest.mark.parametrize("n", [1000, 5000])
def test_a_long_flat_expression_is_evaluated(n):
    import numpy as np

    from scales_core.grammar import evaluate_tree, parse_expression
    from scales_core.tasks import is_valid_expression
    from scales_core.tasks.objectives import expression_objective

    text = "+".join(["x"] * n)
    assert is_valid_expression(text)
    x = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(evaluate_tree(parse_expression(text).tree, x), n * x)
    out = expression_objective(text)
    assert np.isfinite(out.value) or out.reason


def test_iterative_evaluation_matches_numpy_on_nested_expressions():
    import numpy as np

    from scales_core.grammar import evaluate_tree, parse_expression

    x = np.linspace(-2, 2, 7)
    for text, want in [
        ("1/3+x+sin(x*x)", 1 / 3 + x + np.sin(x * x)),
        ("exp(x/2)*(3+x)", np.exp(x / 2) * (3 + x)),
        ("x/2/3", x / 2 / 3),
        ("sin(sin(sin(x)))", np.sin(np.sin(np.sin(x)))),
    ]:
        np.testing.assert_allclose(evaluate_tree(parse_expression(text).tree, x), want)


# ------------------------------------------------------------------ expressions


@needs_data("expressions/equation2_15_dataset.txt")
def test_load_expressions_file() -> None:
    expressions = data.load_expressions()
    assert len(expressions) == 100_000
    assert expressions[1] == "x+x+(x)+(x+1)"
    assert all(" " not in s and len(s) <= 19 for s in expressions)
    assert expressions == enumerate_grammarvae_expressions()  # the file's order
    subset = data.load_expressions(n=50, seed=1)
    assert subset == data.load_expressions(n=50, seed=1)
    assert subset != data.load_expressions(n=50, seed=2)
    assert set(subset) <= set(expressions)


def test_load_expressions_fallbacks(no_data: Path) -> None:
    assert data.load_expressions(n=20, seed=5) == data.subsample(
        enumerate_grammarvae_expressions(), 20, 5
    )
    assert data.load_expressions(n=10, seed=2, fallback="sample") == (
        generate_expressions(10, seed=2)
    )
    with pytest.raises(DataNotFoundError, match=r"equation2_15_dataset\.txt"):
        data.load_expressions(fallback="none")


def test_expression_tokens_round_trip() -> None:
    vocab = data.expressions_vocab()
    assert list(vocab) == list("x+()123*/sinep ")
    strings = ["sin(x*2)", "x+x+(x)+(x+1)", "exp(3)/x", "1"]
    tokens = data.encode_expressions(strings)
    assert tokens.shape == (4, 19) and tokens.dtype == torch.long
    assert tokens[0, :9].tolist() == [9, 10, 11, 2, 0, 7, 5, 3, 14]
    assert (tokens[3, 1:] == vocab[" "]).all()
    assert data.decode_tokens(tokens) == strings
    assert data.decode_tokens(tokens[1]) == strings[1:2]
    spaced = data.encode_expressions(["x + sin( x )"])
    assert torch.equal(spaced, data.encode_expressions(["x+sin(x)"]))


def test_expression_tokens_errors() -> None:
    long = "x+" * 10 + "x"
    with pytest.raises(ValueError, match=r"expression 1 .* 21 characters"):
        data.encode_expressions(["x", long])
    kept = data.encode_expressions(["x", long, "1"], drop_long=True)
    assert data.decode_tokens(kept) == ["x", "1"]
    with pytest.raises(ValueError, match=r"expression 0 .*\['c', 'o'\]"):
        data.encode_expressions(["cos(x)"])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        data.decode_tokens(torch.tensor([[0, 15]]))


# ------------------------------------------------------------------ molecules


@needs_data(
    "zinc/zinc250k_jtvae_test.txt",
    "zinc/zinc250k_jtvae_valid.txt",
    "checkpoints/paper/smiles_vocab.yaml",
)
def test_load_zinc_and_smiles_tokens() -> None:
    test, valid = data.load_zinc("test"), data.load_zinc("valid")
    assert (len(test), len(valid)) == (5000, 24445)
    vocab = data.smiles_vocab()
    assert len(vocab) == 35 and vocab[" "] == 34 and vocab["\\"] == 27
    tokens = data.encode_smiles(test[:200])
    assert tokens.shape == (200, 120)
    assert data.decode_tokens(tokens, "smiles") == test[:200]
    with pytest.raises(ValueError, match=r"SMILES 1 .*'%'"):
        data.encode_smiles(["CCO", "C%10CC"])
    with pytest.raises(ValueError, match="more than L=120"):
        data.encode_smiles(["C" * 121])
    with pytest.raises(ValueError, match="split"):
        data.load_zinc("train")  # type: ignore[arg-type]


@needs_data("moses/test.csv.gz")
def test_load_moses_test_subset() -> None:
    subset = data.load_moses("test", n=100, seed=0)
    assert len(subset) == 100 and subset == data.load_moses("test", n=100, seed=0)
    assert len(data.load_moses("test")) == 176_074


@needs_data("moses/train.csv.gz")
@pytest.mark.slow
def test_load_moses_train() -> None:
    assert len(data.load_moses("train")) == 1_584_663


# ------------------------------------------------------------------ checksums


@needs_data("zinc/zinc250k_jtvae_test.txt")
def test_checksum_mismatch_raises(tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "zinc" / "zinc250k_jtvae_test.txt"
    bad.parent.mkdir()
    shutil.copy(Path(DATA) / "zinc" / "zinc250k_jtvae_test.txt", bad)
    with open(bad, "a") as handle:
        handle.write("CCO\n")
    monkeypatch.setenv("SCALES_DATA_DIR", str(tmp_path))
    with pytest.raises(data.ChecksumError, match=r"zinc250k_jtvae_test\.txt"):
        data.load_zinc("test")


@needs_data("rd_filters/rules.json")
def test_sha256_is_cached() -> None:
    path = data.verified_path("rd_filters/rules.json")
    digest = sources.sha256_file(path)
    assert digest == sources.SOURCES["rd_filters/rules.json"].sha256
    assert any(key[0] == str(path.resolve()) for key in sources._HASHES)


def test_missing_file_names_path(no_data: Path) -> None:
    with pytest.raises(DataNotFoundError) as info:
        data.load_zinc("test")
    message = str(info.value)
    assert "zinc/zinc250k_jtvae_test.txt" in message
    assert str(no_data / "data") in message and "SCALES_OFFLINE" in message


def test_failed_download_is_data_not_found(no_data: Path, monkeypatch) -> None:
    monkeypatch.delenv("SCALES_OFFLINE")

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(sources.urllib.request, "urlopen", refuse)
    with pytest.raises(DataNotFoundError, match=r"icml18-jtnn.*no network"):
        data.load_zinc("valid")
    assert not (no_data / "cache" / "zinc" / "zinc250k_jtvae_valid.txt").exists()


@needs_data("moses/test.csv.gz")
def test_fetch_extracts_from_archive(no_data: Path, monkeypatch) -> None:
    """The MOSES path: the file comes out of a (here fake) molsets wheel."""
    monkeypatch.delenv("SCALES_OFFLINE")
    member = "moses/dataset/data/test.csv.gz"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.write(Path(DATA) / "moses" / "test.csv.gz", member)

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(
        sources.urllib.request, "urlopen", lambda *a, **k: Response(buffer.getvalue())
    )
    monkeypatch.setitem(
        sources.SOURCES,
        "moses/test.csv.gz",
        sources.Source(
            sources.SOURCES["moses/test.csv.gz"].sha256, "http://x/w.whl", member
        ),
    )
    assert len(data.load_moses("test", n=10)) == 10
    assert (no_data / "cache" / "moses" / "test.csv.gz").exists()
