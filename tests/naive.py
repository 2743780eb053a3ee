"""A deliberately naive float64 ScaLES, written straight from Eq. 13 and Thm 3.1:
per-item reverse-mode Jacobian, explicit pseudo-inverse, explicit B_i blocks."""

from __future__ import annotations

import math

import torch


def _item(decoder, zi):
    def flat(x):
        return decoder(x[None])[0].reshape(-1)

    A = torch.autograd.functional.jacobian(flat, zi)  # (L*D, d)
    logits = decoder(zi[None])[0]  # (L, D)
    return logits, A


def naive_paper(decoder, z, rho=1.0, positions=None):
    out = []
    for zi in z.to(torch.float64):
        logits, A = _item(decoder, zi)
        L, D = logits.shape
        K = L if positions is None else positions
        logits, A = logits[:K], A[: K * D]
        P = torch.linalg.pinv(A)  # (d, K*D)
        p = torch.softmax(logits, -1)
        c = torch.exp(logits).sum(-1)
        d = zi.shape[0]
        M = torch.zeros(d, d, dtype=torch.float64)
        for i in range(K):
            Pi = P[:, i * D : (i + 1) * D]  # (d, D)
            Bi = torch.cat([torch.diag(1 / p[i]), torch.ones(1, D) / c[i]], 0)  # (D+1, D)
            M = M + Pi @ Bi.T @ Bi @ Pi.T
        prior = -0.5 * zi.square().sum() - 0.5 * d * math.log(2 * math.pi)
        out.append(prior + rho * 0.5 * torch.logdet(M))
    return torch.stack(out)


def naive_forward(decoder, z, rho=1.0):
    out = []
    for zi in z.to(torch.float64):
        logits, A = _item(decoder, zi)
        L, D = logits.shape
        p = torch.softmax(logits, -1)
        c = torch.exp(logits).sum(-1)
        blocks = []
        for i in range(L):
            Fi = torch.cat([torch.diag(p[i]) - torch.outer(p[i], p[i]), c[i] * p[i][None]], 0)
            blocks.append(Fi)
        F = torch.block_diag(*blocks)  # (L*(D+1), L*D)
        J = F @ A
        d = zi.shape[0]
        prior = -0.5 * zi.square().sum() - 0.5 * d * math.log(2 * math.pi)
        out.append(prior - rho * 0.5 * torch.logdet(J.T @ J))
    return torch.stack(out)
