"""Our self-attention and Transformer against PyTorch's reference, in float64."""

import pytest
import torch

import neuronet as nt
from neuronet.models.transformer import MultiHeadSelfAttention


def reference_pair(dim=16, heads=4, seed=0):
    torch.manual_seed(seed)
    ours = MultiHeadSelfAttention(dim, heads).double().eval()
    ref = torch.nn.MultiheadAttention(dim, heads, batch_first=True).double().eval()
    with torch.no_grad():  # the same weights: [Wq; Wk; Wv] and the output projection
        ref.in_proj_weight.copy_(ours.qkv.weight)
        ref.in_proj_bias.copy_(ours.qkv.bias)
        ref.out_proj.weight.copy_(ours.proj.weight)
        ref.out_proj.bias.copy_(ours.proj.bias)
    return ours, ref


@pytest.mark.parametrize("padded", [False, True])
def test_attention_equals_nn_multihead_attention(padded):
    ours, ref = reference_pair()
    x = torch.randn(3, 7, 16, dtype=torch.float64)
    pad = torch.zeros(3, 7, dtype=torch.bool)
    if padded:
        pad[0, 5:] = pad[2, 2:] = True
    mask = pad if padded else None
    out, weights = ours(x, mask, need_weights=True)
    fast, _ = ours(x, mask)  # scaled_dot_product_attention path
    ref_out, ref_weights = ref(x, x, x, key_padding_mask=mask, average_attn_weights=False)
    assert torch.allclose(out, ref_out, atol=1e-12) and torch.allclose(fast, ref_out, atol=1e-12)
    assert torch.allclose(weights, ref_weights, atol=1e-12)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 4, 7, dtype=torch.float64))
    if padded:
        assert (weights[0, :, :, 5:] == 0).all()  # nobody attends to padding


def test_attention_by_hand_for_one_head():
    attn = MultiHeadSelfAttention(4, 1).double()
    x = torch.randn(1, 3, 4, dtype=torch.float64)
    q, k, v = attn.qkv(x).split(4, dim=-1)
    expected = attn.proj(torch.softmax(q @ k.transpose(1, 2) / 2.0, dim=-1) @ v)  # sqrt(d) = 2
    assert torch.allclose(attn(x)[0], expected, atol=1e-12)


def test_transformer_ignores_padding_and_returns_attention():
    model = nt.models.TransformerEncoder((10,), 3, dim=16, heads=2, layers=2, vocab_size=30, dropout=0.0, seed=0).eval()
    tokens = torch.tensor([[5, 6, 7, 0, 0, 0, 0, 0, 0, 0]])
    with torch.no_grad():
        logits, attention = model(tokens, return_attention=True)
    assert len(attention) == 2 and attention[0].shape == (1, 2, 10, 10)
    assert torch.all(attention[1][0, :, :, 3:] == 0)  # no attention to padding
    # The same real tokens with less padding: the same prediction (positions 0-2 are shared).
    model5 = nt.models.TransformerEncoder((5,), 3, dim=16, heads=2, layers=2, vocab_size=30, dropout=0.0, seed=0).eval()
    with torch.no_grad():
        model5.load_state_dict({k: (v[:5] if k == "position.weight" else v) for k, v in model.state_dict().items()})
        assert torch.allclose(model5(torch.tensor([[5, 6, 7, 0, 0]])), logits, atol=1e-6)
