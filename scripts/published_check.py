"""The published releases' own outputs beside this package's on the same latents.

    python scripts/published_check.py PUBLISHED_OUTPUTS.json [--out results/published_check.json]

``PUBLISHED_OUTPUTS.json`` holds what the published functions returned, run verbatim
in a scratch checkout of OmerRonen/scales (never copied here): the later release's
``les/utils/les.py`` ``LES.forward`` (commit 152b0f1) and the first release's
``scales/utils/scales.py`` ``calculate_scales`` / ``calculate_scales_derivative``
(commit 811cd8f), with the latents they were called on and the adaptations the run
needed. This script computes the same quantities with :mod:`scales_core.reference`
and the exact score, and writes both sides with their agreement.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

import scales_core as sc
from scales_core.provenance import provenance, write_json
from scales_core.reference import first_release_gradient, published_score


def _rel(a, b) -> list[float]:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return (np.abs(a - b) / np.abs(b)).round(5).tolist()


def _cos(a, b) -> list[float]:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return (
        (np.sum(a * b, -1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1))
        .round(6)
        .tolist()
    )


def _norm_ratio(a, b) -> list[float]:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return (np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)).round(5).tolist()


def first_gradient_float32(
    dec, z: torch.Tensor, tau: float, positions: int, clip: float = 12.0
):
    r"""The first release's gradient formula evaluated in float32 (its dtype).

    ``d/dz_j 1/2 logdet M = 1/2 tr(M^{-1} dM_j)`` with ``M = sum_i P_i W_i P_i^T``,
    ``P = pinv(A)`` and ``A`` held fixed, ``dM_j = -2 sum_i P_i [diag(dp_ij / p_i^3)
    + (dc_ij / c_i^3) 1 1^T] P_i^T``, plus ``-z``: the same mathematics as
    :func:`scales_core.reference.first_release_gradient`, in float32 with
    ``numpy.linalg.inv`` for ``M^{-1}``, as the release computes it. Shows how much
    of the release's output is float32 round-off.
    """
    from scales_core.reference import published_jacobian

    logits, A = published_jacobian(dec, z, 1e-4, False, positions)
    lg, A = logits.float().clamp(-clip, clip), A.float()
    B, L, D = lg.shape
    d = A.shape[-1]
    p, c = torch.softmax(lg, -1), torch.exp(lg).sum(-1)
    out = []
    for b in range(B):
        P = torch.linalg.pinv(A[b]).reshape(d, L, D)
        W = [
            torch.diag(1 / p[b, i] ** 2) + torch.ones(D, D) / c[b, i] ** 2
            for i in range(L)
        ]
        M = sum(P[:, i] @ W[i] @ P[:, i].T for i in range(L))
        M_inv = torch.from_numpy(np.linalg.inv(M.numpy()))
        A4 = A[b].reshape(L, D, d)
        grad = []
        for j in range(d):
            dM = torch.zeros(d, d)
            for i in range(L):
                dl = A4[i, :, j]
                dp = p[b, i] * (dl - (p[b, i] * dl).sum())
                dc = (torch.exp(lg[b, i]) * dl).sum()
                T = torch.diag(dp / p[b, i] ** 3) + torch.ones(D, D) * dc / c[b, i] ** 3
                dM -= 2 * P[:, i] @ T @ P[:, i].T
            grad.append(0.5 * torch.trace(M_inv @ dM))
        out.append(tau * torch.stack(grad) - z[b])
    return torch.stack(out).tolist()


def later(pub: dict) -> dict:
    """The later release's scores beside ours on the same latents.

    For the expressions and SMILES checkpoints: the published values, ours with
    finite differences (float32 SVD and float64 log-determinant) and the exact score,
    with relative differences; for expressions with dropout, the two distributions.
    """
    out = {}
    for name, key in (
        ("expressions_gru_1", "expressions_eval"),
        ("smiles_gru_1", "smiles_eval"),
    ):
        dec = sc.models.load_paper_vae(name).decoder
        z = torch.tensor(pub[key]["z"], dtype=torch.float32)
        ours_32 = published_score(
            dec, z, "later", dropout=False, arithmetic="float32"
        ).tolist()
        ours_64 = published_score(dec, z, "later", dropout=False).tolist()
        exact = (
            sc.ScaLES(dec, formula="forward", normalizer="inv_c")
            .log_det(z.double())
            .tolist()
        )
        out[key] = dict(
            published=pub[key]["values"],
            ours_fd_float32_svd=ours_32,
            ours_fd_float64_logdet=ours_64,
            exact_float64=exact,
            rel_diff_fd_float32=_rel(ours_32, pub[key]["values"]),
            rel_diff_fd_float64=_rel(ours_64, pub[key]["values"]),
            rel_diff_exact=_rel(exact, pub[key]["values"]),
        )
    dec = sc.models.load_paper_vae("expressions_gru_1").decoder
    z = torch.tensor(pub["expressions_eval"]["z"], dtype=torch.float32)
    torch.manual_seed(12345)
    ours = np.array([published_score(dec, z, "later").tolist() for _ in range(20)])
    theirs = np.array(pub["expressions_dropout"]["values"])
    out["expressions_dropout"] = dict(
        published_mean=theirs.mean(0).round(3).tolist(),
        published_sd=theirs.std(0, ddof=1).round(3).tolist(),
        ours_mean=ours.mean(0).round(3).tolist(),
        ours_sd=ours.std(0, ddof=1).round(3).tolist(),
        note="dropout draws differ between the two implementations: compare the distributions",
    )
    return out


def first(pub: dict) -> dict:
    """The first release's gradients and values beside ours on the same latents.

    For its 2024 expressions checkpoint (with and without the logit clip, and a
    float32 replay) and for ``smiles_gru_1`` with argmax feedback: cosines, norm
    ratios and relative differences of the values.
    """
    out = {}
    case = pub["expressions_2024"]
    dec = sc.models.load_paper_vae("paper_2024_expressions").decoder
    z = torch.tensor(case["z"], dtype=torch.float32)
    g = first_release_gradient(dec, z, tau=case["tau"], positions=19).tolist()
    g_noclip = first_release_gradient(
        dec, z, tau=case["tau"], positions=19, logit_clip=None
    ).tolist()
    values = published_score(dec, z, "first", rho=case["tau"], positions=19).tolist()
    g32 = first_gradient_float32(dec, z, case["tau"], 19)
    out["expressions_2024"] = dict(
        published_grad=case["grad"],
        ours_grad=g,
        cosine=_cos(g, case["grad"]),
        float32_replay_grad=g32,
        cosine_float32_replay_vs_published=_cos(g32, case["grad"]),
        cosine_float32_replay_vs_ours=_cos(g32, g),
        norm_ratio=_norm_ratio(g, case["grad"]),
        published_grad_noclip=case["grad_noclip"],
        ours_grad_noclip=g_noclip,
        cosine_noclip=_cos(g_noclip, case["grad_noclip"]),
        published_values=case["values"],
        ours_values=values,
        rel_diff_values=_rel(values, case["values"]),
    )
    case = pub["smiles_gru_1"]
    vae = sc.models.load_paper_vae("smiles_gru_1")
    # the first release's decoder feeds back the previous step's one-hot argmax
    vae.decoder.cfg = dataclasses.replace(vae.decoder.cfg, feedback="argmax")
    dec = vae.decoder
    z = torch.tensor(case["z"], dtype=torch.float32)
    res = {}
    for tau in (0.001, 1):
        g = first_release_gradient(dec, z, tau=tau, positions=30).tolist()
        theirs = case[f"grad_tau{tau}"]
        res[f"tau{tau}"] = dict(
            published_grad=theirs,
            ours_grad=g,
            cosine=_cos(g, theirs),
            norm_ratio=_norm_ratio(g, theirs),
        )
    values = published_score(dec, z, "first", rho=1.0, positions=30).tolist()
    res["values"] = dict(
        published_workaround_T30=case["values_tau1_workaround_T30"],
        ours=values,
        rel_diff=_rel(values, case["values_tau1_workaround_T30"]),
        note="the published calculate_scales fails on this decoder (get_probs keeps "
        "60 positions, net_derivative 30); the published side is its value "
        "with EFFECTIVE_SEQ_LENGTH_TRANSFORMER set to 30",
    )
    out["smiles_gru_1_argmax_feedback"] = res
    return out


def main() -> None:
    """Compare ``PUBLISHED_OUTPUTS.json`` with this package and write it with provenance."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("published", type=Path)
    parser.add_argument(
        "--out", type=Path, default=Path("results/published_check.json")
    )
    args = parser.parse_args()
    pub = json.loads(args.published.read_text())
    torch.manual_seed(0)
    result = dict(
        later=dict(commit=pub["later"]["commit"], **later(pub["later"])),
        first=dict(commit=pub["first"]["commit"], **first(pub["first"])),
        published_run=dict(
            adaptations=pub["adaptations"],
            torch=pub["torch"],
            numpy_1_26_4_crosscheck=pub["first"].get("numpy_1_26_4_crosscheck"),
        ),
    )
    write_json(
        args.out, provenance(dict(published=str(args.published.name)), 0), **result
    )


if __name__ == "__main__":
    main()
