"""The three Jacobian engines agree, and the character VAE's own forward mode
matches torch.func."""

from __future__ import annotations

import pytest
import torch
from conftest import GRUDecoder, MLPDecoder

import scales_core as sc
from scales_core.models import CharDecoder, CharVAEConfig


def small_char_decoder(cell):
    cfg = CharVAEConfig(
        vocab_size=6,
        max_len=5,
        latent_dim=3,
        hidden=8,
        num_layers=2,
        cell=cell,
        conv_channels=(2, 2, 2),
        conv_kernels=(2, 2, 2),
    )
    return CharDecoder(cfg).double().eval()


DECODERS = {
    "mlp": lambda: MLPDecoder().double(),
    "gru": lambda: GRUDecoder().double(),
    "char_gru": lambda: small_char_decoder("gru"),
    "char_lstm": lambda: small_char_decoder("lstm"),
}


@pytest.mark.parametrize("name", list(DECODERS))
def test_engines_agree(name):
    dec = DECODERS[name]()
    z = torch.randn(4, 3, dtype=torch.float64)
    rev = sc.decoder_jacobian(dec, z, method="reverse")
    fwd = sc.decoder_jacobian(dec, z, method="forward")
    func = sc.logits_and_jacobian(dec, z, method="forward", use_decoder_jvp=False)[1]
    fd = sc.decoder_jacobian(dec, z, method="fd", eps=1e-7)
    torch.testing.assert_close(fwd, rev, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(func, rev, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(fd, rev, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_char_decoder_logits_match_torch_rnn(cell):
    # The matmul recurrence must equal nn.GRU/nn.LSTM on the same weights.
    dec = small_char_decoder(cell)
    z = torch.randn(3, 3, dtype=torch.float64)
    ctx = dec.project(z)
    ref, _ = dec.gru(ctx.unsqueeze(1).expand(-1, dec.cfg.max_len, -1))
    logits = [
        dec.out(
            torch.cat(
                [ref[:, 0], dec.output_projection(torch.zeros(3, 6).double())], -1
            )
        )
    ]
    for t in range(1, dec.cfg.max_len):
        q = dec.output_projection(torch.softmax(logits[-1], -1))
        logits.append(dec.out(torch.cat([ref[:, t], q], -1)))
    torch.testing.assert_close(dec(z), torch.stack(logits, 1))
    own_logits, _ = dec.logits_and_jacobian(z)
    torch.testing.assert_close(own_logits, dec(z))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_char_decoder_own_jacobian_is_differentiable(cell):
    # Second-order: gradcheck through the hand-written forward mode.
    dec = small_char_decoder(cell)
    z = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: dec.logits_and_jacobian(x)[1], (z,))


def test_jacobian_shape_and_unknown_method():
    dec = MLPDecoder(d=3, L=4, D=5).double()
    z = torch.randn(2, 3, dtype=torch.float64)
    assert sc.decoder_jacobian(dec, z).shape == (2, 20, 3)
    with pytest.raises(ValueError, match="unknown Jacobian method"):
        sc.decoder_jacobian(dec, z, method="magic")


def test_layernorm_second_order_through_jvp_warns():
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.LayerNorm(8), torch.nn.Linear(8, 6)
    ).double()

    class Dec(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, z):
            return self.net(z).reshape(z.shape[0], 2, 3)

    z = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    with pytest.warns(RuntimeWarning, match="LayerNorm"):
        sc.decoder_jacobian(Dec(), z)
    # reverse mode is right: its second derivatives pass gradcheck
    assert torch.autograd.gradcheck(
        lambda x: sc.decoder_jacobian(Dec(), x, method="reverse"), (z,)
    )


class OwnJacobian(MLPDecoder):
    def __init__(self, how):
        super().__init__()
        self.how = how

    def logits_and_jacobian(self, z):
        logits, A = sc.logits_and_jacobian(self.net_only, z, "reverse")
        if self.how == "transposed":
            A = A.transpose(1, 2)
        elif self.how == "permuted":
            A = A[:, :, torch.tensor([1, 2, 0])]
        return logits, A

    def net_only(self, z):
        return MLPDecoder.forward(self, z)


def test_own_jacobian_is_checked():
    z = torch.randn(2, 3)
    assert sc.ScaLES(OwnJacobian("right"))(z).isfinite().all()
    with pytest.raises(ValueError, match="shape"):
        sc.ScaLES(OwnJacobian("transposed"))(z)
    with pytest.raises(ValueError, match="finite differences"):
        sc.ScaLES(OwnJacobian("permuted"))(z)
