"""The INT4 quantization attack (Appendix F.2, Table 14; Zhang et al., 2024): an unlearned model's weights rounded
to 4 bits may recall what full precision hides. Quantization is optimum-quanto's: every linear layer's weights to
qint4 (groups along the input dimension), activations kept in float, weights dequantized on the fly."""
import copy
from types import SimpleNamespace

import torch


def unpack(packed: torch.Tensor, bits: int) -> torch.Tensor:
    """packed [N, ...] uint8, 8 // bits values per byte, lowest bits first -> [N * 8 // bits, ...] uint8: the
    i-th value of every byte in block i, the layout of quanto's `unpack` (its C++ and its torch versions)."""
    return torch.cat([(packed >> (bits * i)) & (2 ** bits - 1) for i in range(8 // bits)])


def _unpack_in_torch():
    """quanto unpacks 4-bit weights on a CPU through a C++ extension that it compiles on first use (gcc -O3 against
    torch's headers: 70-100 s of both cores, once per environment). Its extension object is given `unpack`, the
    same values in torch, as the library it would have built; a model of this size does not notice the speed."""
    from optimum.quanto.library.extensions import get_extension
    extension = get_extension("quanto_cpp")
    if extension._lib is None:
        extension._lib = SimpleNamespace(unpack=unpack)


def int4(model: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of `model` with its linear layers' weights quantized to 4 bits (optimum-quanto qint4); the
    model itself is left as it was. The tied output head is quantized like the other linear layers."""
    from optimum.quanto import freeze, qint4, quantize
    _unpack_in_torch()
    quantized = copy.deepcopy(model).eval()
    quantize(quantized, weights=qint4)
    freeze(quantized)
    return quantized
