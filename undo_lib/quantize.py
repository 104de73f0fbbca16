"""The INT4 quantization attack (Appendix F.2, Table 14; Zhang et al., 2024): an unlearned model's weights rounded
to 4 bits may recall what full precision hides. Quantization is optimum-quanto's: every linear layer's weights to
qint4 (groups along the input dimension), activations kept in float, weights dequantized on the fly."""
import copy

import torch


def int4(model: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of `model` with its linear layers' weights quantized to 4 bits (optimum-quanto qint4); the
    model itself is left as it was. The tied output head is quantized like the other linear layers."""
    from optimum.quanto import freeze, qint4, quantize
    quantized = copy.deepcopy(model).eval()
    quantize(quantized, weights=qint4)
    freeze(quantized)
    return quantized
