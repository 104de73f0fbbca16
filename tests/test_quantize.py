"""The INT4 quantization attack: optimum-quanto's qint4 on a model of the library's shape."""
import torch

from undo_lib.data.tokenizer import char_tokenizer
from undo_lib.evaluate import fingerprint
from undo_lib.models import MODEL_PRESETS, build_model
from undo_lib.quantize import int4, unpack


def test_int4_rounds_every_linear_layer_to_16_levels_per_group_and_leaves_the_model_alone():
    tok = char_tokenizer(["abcdefghij ?.:"])
    model = build_model(MODEL_PRESETS["small"], len(tok), seed=0, tokenizer=tok)
    before = fingerprint(model)
    quantized = int4(model)
    assert fingerprint(model) == before  # a copy is quantized
    w = model.model.layers[0].mlp.down_proj.weight.detach()           # [128, 512]
    q = quantized.model.layers[0].mlp.down_proj.weight.dequantize()  # the 4-bit weights, as the forward uses them
    assert q.shape == w.shape
    for group in q.reshape(q.shape[0], -1, 128).reshape(-1, 128)[:64]:  # groups of 128 along the input
        assert len(torch.unique(group)) <= 16
    step = (w.reshape(-1, 128).amax(-1) - w.reshape(-1, 128).amin(-1)) / 15  # one level of each group
    error = (q - w).abs().reshape(-1, 128).amax(-1)
    assert (error <= step / 2 * 1.05 + 1e-6).all()  # round to nearest: at most half a level off
    x = torch.randint(0, len(tok), (2, 12))
    full, four = model(x).logits, quantized(x).logits
    assert 0 < (full - four).abs().max() < 0.5 * full.abs().max()  # close, not equal
    assert quantized.generate(input_ids=x[:, :4], max_new_tokens=3, do_sample=False).shape == (2, 7)
    from optimum.quanto.library.extensions import get_extension
    assert get_extension("quanto_cpp")._lib.unpack is unpack  # torch's unpacking, not a C++ build


def test_unpack_reads_each_byte_lowest_bits_first_into_blocks():
    """The CPU unpacking that replaces quanto's C++ extension, against a value-by-value reference."""
    packed = torch.randint(0, 256, (5, 3), dtype=torch.uint8)
    for bits in (2, 4):
        per_byte = 8 // bits
        want = torch.zeros(5 * per_byte, 3, dtype=torch.uint8)
        for i in range(per_byte):
            for r in range(5):
                for c in range(3):
                    want[i * 5 + r, c] = (int(packed[r, c]) // 2 ** (bits * i)) % 2 ** bits
        assert torch.equal(unpack(packed, bits), want)
