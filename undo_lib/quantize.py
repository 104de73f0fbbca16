"""The INT4 quantization attack (Appendix F.2, Table 14; Zhang et al., 2024): an unlearned model's weights rounded
to 4 bits may recall what full precision hides. Quantization is optimum-quanto's: every linear layer's weights to
qint4 (groups along the input dimension), activations kept in float, weights dequantized on the fly."""
import copy
import warnings

import torch

_cpu_unpack = None  # the registration of `unpack` for quanto's CPU kernel (kept alive: deleting it undoes it)


def unpack(packed: torch.Tensor, bits: int) -> torch.Tensor:
    """packed [N, ...] uint8, 8 // bits values per byte, lowest bits first -> [N * 8 // bits, ...] uint8: the
    i-th value of every byte in block i, the layout of quanto's `unpack` (its C++ and its torch versions)."""
    return torch.cat([(packed >> (bits * i)) & (2 ** bits - 1) for i in range(8 // bits)])


def _unpack_in_torch():
    """quanto unpacks 4-bit weights on a CPU with a C++ extension that it compiles on first use (gcc -O3 against
    torch's headers: 70-100 s of both cores, once per environment); `unpack` gives the same values in torch, and a
    model of this size does not notice the difference in speed."""
    global _cpu_unpack
    if _cpu_unpack is None:
        _cpu_unpack = torch.library.Library("quanto", "IMPL")
        with warnings.catch_warnings():  # "Overriding a previously registered kernel": this one, on purpose
            warnings.simplefilter("ignore")
            _cpu_unpack.impl("unpack", unpack, "CPU")


def int4(model: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of `model` with its linear layers' weights quantized to 4 bits (optimum-quanto qint4); the
    model itself is left as it was. The tied output head is quantized like the other linear layers."""
    from optimum.quanto import freeze, qint4, quantize
    _unpack_in_torch()
    quantized = copy.deepcopy(model).eval()
    quantize(quantized, weights=qint4)
    freeze(quantized)
    return quantized
