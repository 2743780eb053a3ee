"""What a VAE's encode and decode accept (models/_inputs.py): a bare string, an
empty batch and non-finite latents are refused."""

from __future__ import annotations

import pytest
import torch

# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_char_vae():
    from scales_core.models import CharVAE, CharVAEConfig
    from scales_core.models.paper import EXPRESSIONS_VOCAB

    cfg = CharVAEConfig(
        vocab_size=15,
        max_len=19,
        latent_dim=25,
        conv_channels=(2, 3, 4),
        conv_kernels=(2, 3, 4),
    )
    return CharVAE(cfg, EXPRESSIONS_VOCAB, pad_index=14).eval()


@pytest.fixture(params=["char", "selfies"])
def any_vae(request):
    from scales_core.models import load_vae

    return (
        tiny_char_vae() if request.param == "char" else load_vae("selfies_transformer")
    )


def test_encode_refuses_a_bare_string_and_an_empty_batch(any_vae):
    item = "x+1" if any_vae.latent_dim == 25 else "CCO"
    with pytest.raises(TypeError, match=r"single string .*wrap it in a list"):
        any_vae.encode(item)
    with pytest.raises(ValueError, match="nothing to encode"):
        any_vae.encode([])
    with pytest.raises(ValueError, match="nothing to encode"):
        any_vae.encode(torch.zeros(0, 5, dtype=torch.long))
    with pytest.raises(TypeError, match="list of strings or an index tensor"):
        any_vae.encode(42)
    assert any_vae.encode((item,)).shape == (1, any_vae.latent_dim)  # a tuple is fine


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_decode_of_non_finite_latents_raises(any_vae, bad):
    z = torch.zeros(3, any_vae.latent_dim)
    z[1, 2] = bad
    with pytest.raises(ValueError, match=r"non-finite latents .*rows \[1\]"):
        any_vae.decode_strings(z)
    with pytest.raises(ValueError, match="shape"):
        any_vae.decode_strings(torch.zeros(2, any_vae.latent_dim + 1))
    assert len(any_vae.decode_strings(z[[0, 2]])) == 2
