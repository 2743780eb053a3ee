"""Numbers pinned BEFORE the dataset records (issue 9): the records must not move them.

Values computed on commit 812e464 (``validity_auroc.SETUPS``/``_items``/``_encodable``
and ``bo.problem.PROBLEM_DEFAULTS``), before any consumer went through
:mod:`scales_core.datasets`.
"""

from __future__ import annotations

import pytest
import torch
from conftest import needs_data

EXPR_STRINGS = [
    "x/3+exp(2)+sin(x*x)",
    "3+x+(x)+sin(1+2)",
    "2+2+exp(x)+sin(2/2)",
    "1/x+exp(x)+sin(3+3)",
]
EXPR_X = [
    [
        0.05727767571806908,
        -0.023810435086488724,
        0.08321251720190048,
        -0.17752325534820557,
    ],
    [
        -0.0941954106092453,
        -0.06418635696172714,
        -0.1389058530330658,
        0.027396760880947113,
    ],
    [
        0.08539785444736481,
        -0.08466977626085281,
        -0.030983326956629753,
        -0.12296047806739807,
    ],
]
EXPR_Y = [
    -4.183997830142245,
    -3.7480317305143225,
    -16.32927659587635,
    -16.32837532110928,
]
EXPR_X_SUM = -6.197388083091937
RANOLAZINE_STRINGS = [
    "COc1ccc(CNc2ccc3nncn3n2)cc1",
    "CCc1nc2n(n1)CCCC2NC(=O)c1cccc(C(=O)OC)c1",
    "CCn1nc(-c2ccccc2SC)nc1N(C)C",
    "COC(=O)C(NC(=O)NCc1ccc(F)cc1)C(C)C",
    "O=C(Nc1ccc2ncccc2c1)c1cc(C2CC2)on1",
    "COc1ccnc(NC(=O)C2CCc3cn[nH]c3C2)c1",
]
RANOLAZINE_X = [
    [-0.8252761363983154, -0.8243050575256348, -0.2518726587295532, 0.5418427586555481],
    [
        -0.844412088394165,
        -0.41814669966697693,
        -0.8198279142379761,
        -1.4877800941467285,
    ],
]
RANOLAZINE_Y = [
    0.012877378336370138,
    0.025275569380142963,
    0.018373511226076517,
    0.017746731385110417,
    0.09058223634277172,
    0.014042649818404212,
]
RANOLAZINE_X_SUM = -16.014784361235797
ITEM_HEADS = {
    k: (v["n"], v["head"][:2])
    for k, v in {
        "expressions-a": {
            "n": 100,
            "head": ["1/2+2+(3+x)", "1*2+(x)+sin(3+3)", "x+x+sin(3)+(3*3)"],
        },
        "expressions-b": {
            "n": 100,
            "head": ["x*3+exp(2)+(1+2)", "x*3+(x)+exp(3+3)", "1/1+sin(x)+sin(2/3)"],
        },
        "zinc-valid": {
            "n": 24445,
            "head": [
                "CCN(Cc1ccc(OC)c(OC)c1)C(=O)c1ccsc1",
                "Cc1ccc(CNc2ncnc(N3C[C@@]4(C)C[C@@H]3CC(C)(C)C4)c2N)cc1",
                "Cc1ccc(/C=C2\\SC(N3CC[NH2+]CC3)=NC2=O)cc1",
            ],
        },
        "zinc-test": {
            "n": 5000,
            "head": [
                "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1",
                "C[C@@H]1CC(Nc2cncc(-c3nncn3C)c2)C[C@@H](C)C1",
                "N#Cc1ccc(-c2ccc(O[C@@H](C(=O)N3CCCC3)c3ccccc3)cc2)cc1",
            ],
        },
        "moses-train": {
            "n": 100,
            "head": [
                "C#CCOC(=O)CC(NC(=O)c1ccccc1Cl)c1ccccc1",
                "O=C(NCCCc1ccccc1)NCCc1ccsc1",
                "N#CCc1c(-c2ccc(F)cc2)nc2sccn12",
            ],
        },
        "moses-test": {
            "n": 100,
            "head": [
                "CCCC(=O)Nc1cccc(C(=O)Nc2nccc(C)n2)c1",
                "CC(NC(=O)N1CCN(Cc2cccnc2)CC1)c1ccc(C#N)cc1",
                "CCc1nc2c(N)cccc2n1Cc1ccccc1",
            ],
        },
    }.items()
}
ENCODABLE = {
    k[4:]: (v["train"][:3], v["test"][:3])
    for k, v in {
        "enc_expressions": {
            "train": [
                "1/2+2+(3+x)",
                "1*2+(x)+sin(3+3)",
                "x+x+sin(3)+(3*3)",
                "x/3+1+exp(3+3)",
                "1+1+exp(3)+exp(1*3)",
            ],
            "test": [
                "x*3+exp(2)+(1+2)",
                "x*3+(x)+exp(3+3)",
                "1/1+sin(x)+sin(2/3)",
                "x/2+sin(1)+exp(x*x)",
                "1*x+(1)+exp(3*2)",
            ],
            "ntr": 20,
            "nte": 20,
        },
        "enc_smiles": {
            "train": [
                "CCN(Cc1ccc(OC)c(OC)c1)C(=O)c1ccsc1",
                "Cc1ccc(CNc2ncnc(N3C[C@@]4(C)C[C@@H]3CC(C)(C)C4)c2N)cc1",
                "Cc1ccc(/C=C2\\SC(N3CC[NH2+]CC3)=NC2=O)cc1",
                "CN1C[C@@H]([NH2+][C@H](c2cccs2)C2CC2)CC1=O",
                "CC1=NN([C@H](C#N)c2ccoc2)[C@@H](c2ccccc2)C1",
            ],
            "test": [
                "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1",
                "C[C@@H]1CC(Nc2cncc(-c3nncn3C)c2)C[C@@H](C)C1",
                "N#Cc1ccc(-c2ccc(O[C@@H](C(=O)N3CCCC3)c3ccccc3)cc2)cc1",
                "CCOC(=O)[C@@H]1CCCN(C(=O)c2nc(-c3ccc(C)cc3)n3c2CCCCC3)C1",
                "N#CC1=C(SCC(=O)Nc2cccc(Cl)c2)N=C([O-])[C@H](C#N)C12CCCCC2",
            ],
            "ntr": 20,
            "nte": 20,
        },
        "enc_selfies": {
            "train": [
                "C#CCOC(=O)CC(NC(=O)c1ccccc1Cl)c1ccccc1",
                "O=C(NCCCc1ccccc1)NCCc1ccsc1",
                "N#CCc1c(-c2ccc(F)cc2)nc2sccn12",
                "CCNC(=O)Cc1ccc(NC(=O)C2CCOC2)cc1",
                "COc1ccccc1C(=O)Nc1cc(N2CCCC2)ncn1",
            ],
            "test": [
                "CCCC(=O)Nc1cccc(C(=O)Nc2nccc(C)n2)c1",
                "CC(NC(=O)N1CCN(Cc2cccnc2)CC1)c1ccc(C#N)cc1",
                "CCc1nc2c(N)cccc2n1Cc1ccccc1",
                "O=C1CN(S(=O)(=O)c2ccc3[nH]c(=O)[nH]c3c2)CCN1",
                "COc1ncc(NC(=O)Nc2ccc(Cl)c(C(F)(F)F)c2)cn1",
            ],
            "ntr": 20,
            "nte": 20,
        },
    }.items()
}
VALIDITY = {
    k[9:]: (v["rho"], v["auroc"], v["scales"][:3])
    for k, v in {
        "val_expr_paper_text": {
            "rho": 1.0,
            "auroc": {
                "scales": 0.9082125603864736,
                "uncertainty": 0.9371980676328502,
                "prior": 0.8792270531400965,
                "polarity": 0.7101449275362319,
                "likelihood": 0.9516908212560387,
                "log_det": 0.8550724637681159,
            },
            "valid_share": {
                "train": 1.0,
                "test": 1.0,
                "N(0, I)": 0.625,
                "N(0, 20 I)": 0.25,
            },
            "scales": [
                466.69527726970244,
                479.46805466047516,
                450.22397948808054,
                418.22865114799123,
                486.5021835544443,
            ],
        },
        "val_expr_published_code": {
            "rho": 10.0,
            "auroc": {
                "scales": 0.9747899159663866,
                "uncertainty": 0.957983193277311,
                "prior": 0.4789915966386555,
                "polarity": 0.8487394957983194,
                "likelihood": 0.9747899159663864,
                "log_det": 0.9243697478991596,
            },
            "valid_share": {"train": 1.0, "N(0, s^2 I)": 0.5, "N(0, 25 s^2 I)": 0.625},
            "scales": [
                4919.556068976932,
                5048.609881245255,
                4754.743153721748,
                4433.688357411919,
                5118.0059072760105,
            ],
        },
    }.items()
}

#: The loader names of the former ``validity_auroc.SETUPS``.
_OLD_NAMES = {
    ("expressions", "train"): "expressions-a",
    ("expressions", "test"): "expressions-b",
    ("smiles", "train"): "zinc-valid",
    ("smiles", "test"): "zinc-test",
    ("selfies", "train"): "moses-train",
    ("selfies", "test"): "moses-test",
}


@needs_data(
    "checkpoints/paper/expressions_gru_1/w.pth", "expressions/equation2_15_dataset.txt"
)
def test_make_problem_expressions_pinned():
    from scales_core.bo import make_problem

    p = make_problem("expressions", n_init=20, seed=0)
    assert p.strings[:4] == EXPR_STRINGS
    assert p.info == dict(checkpoint="expressions_gru_1", n_init=20, data_seed=0)
    assert p.rho == 1.0 and len(p.strings) == 20
    torch.testing.assert_close(
        p.train_X[:3, :4], torch.tensor(EXPR_X, dtype=torch.float64), rtol=0, atol=1e-7
    )
    torch.testing.assert_close(p.train_Y[:4], torch.tensor(EXPR_Y, dtype=torch.float64))
    assert float(p.train_X.sum()) == pytest.approx(EXPR_X_SUM, abs=1e-5)


@needs_data("moses/train.csv.gz")
def test_make_problem_mpo_pinned():
    from scales_core.bo import make_problem

    p = make_problem("ranolazine_mpo", n_init=6, seed=1)
    assert p.strings == RANOLAZINE_STRINGS
    # positions (the record's, issue 10) joined the header later; the data did not move
    assert p.info == dict(
        checkpoint="selfies_transformer", n_init=6, data_seed=1, positions=60
    )
    torch.testing.assert_close(
        p.train_X[:2, :4],
        torch.tensor(RANOLAZINE_X, dtype=torch.float64),
        rtol=0,
        atol=1e-5,
    )
    torch.testing.assert_close(
        p.train_Y, torch.tensor(RANOLAZINE_Y, dtype=torch.float64)
    )
    assert float(p.train_X.sum()) == pytest.approx(RANOLAZINE_X_SUM, abs=1e-3)


@needs_data(
    "expressions/equation2_15_dataset.txt",
    "zinc/zinc250k_jtvae_valid.txt",
    "moses/train.csv.gz",
    "checkpoints/paper/smiles_vocab.yaml",
)
@pytest.mark.parametrize("dataset", ["expressions", "smiles", "selfies"])
def test_validity_items_pinned(dataset):
    from scales_core.datasets import get_dataset

    record = get_dataset(dataset)
    vae = record.load_vae()
    train = record.encodable(vae, record.load_items("train", 5, 3), 20)
    test = record.encodable(vae, record.load_items("test", 5, 3), 20)
    assert (train[:3], test[:3]) == ENCODABLE[dataset]
    assert len(train) == len(test) == 20
    for split in ("train", "test"):
        items = record.load_items(split, 5, 3)
        n, head = ITEM_HEADS[_OLD_NAMES[dataset, split]]
        assert (len(items), items[:2]) == (n, head)


@needs_data(
    "checkpoints/paper/expressions_gru_1/w.pth", "expressions/equation2_15_dataset.txt"
)
@pytest.mark.parametrize("protocol", ["paper_text", "published_code"])
def test_validity_experiment_pinned(protocol):
    from scales_core.validity_auroc import run_validity_experiment

    frame, s = run_validity_experiment(
        "expressions", n=8, n_calibration=8, uc_samples=(2, 2), protocol=protocol
    )
    rho, aurocs, scales = VALIDITY[protocol]
    assert s["rho"] == rho
    # the pinned scores do not move (later formulas add keys of their own)
    assert {k: s["auroc"][k] for k in aurocs} == pytest.approx(aurocs, abs=1e-9)
    assert frame["scales"].tolist()[:3] == pytest.approx(scales, rel=1e-6)
