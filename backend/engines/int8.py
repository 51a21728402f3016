"""int8 weights for the slow speech models and Bark on CPU: torch's dynamic quantisation of their Linear layers.

Each chosen `torch.nn.Linear` is replaced, in place and one at a time, by torch's dynamically quantised Linear:
int8 weights (one scale per output row), activations quantised per call, matrix products on FBGEMM's int8 kernels
(AVX-512 VNNI on this machine kind). The float32 weight of a layer is dropped as soon as its int8 copy exists, and
the float32 tensors left are copied out of the memory-mapped checkpoint (`_own_memory`), so the process does not
keep both copies resident. Convolutions, norms, embeddings and the EnCodec codec stay float32.

Why this library: CTranslate2 does not convert wav2vec2 (NOTES.md), optimum does not install beside transformers 5,
and torchao 0.18's int8 dynamic-activation config ran a wav2vec2-sized Linear stack no faster than this in eager
mode here (7.30 s against 6.77 s, loaded machine) while needing a new package whose compiled parts do not load for
Python 3.11. `torch.ao.quantization` says it is deprecated; its kernels are torch's own and still shipped in 2.13,
so only that warning is silenced (`_quiet`).

Kept float32 (`KEEP_FLOAT`): MMS-1b-all's language adapters and CTC head, which `load_adapter` and
backend/speech/ctc.py's `use_adapter` overwrite per request, and any Linear whose weight is shared with another
module (a head tied to the embeddings: an int8 copy there adds memory, since the embedding keeps the float32
matrix), except in the families of `TIED_HEAD_COPY`, where the head is most of the decoding's work.
"""

import logging
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear
from torch.ao.nn.quantized.modules.linear import LinearPackedParams

logger = logging.getLogger(__name__)

# Catalog families that can run with int8 weights on CPU, and those that do unless APP_INT8_FAMILIES says otherwise.
# Bark is opt in: on 2026-12-07 its int8 stages ran at 0.44 of float32's time but agreed with float32 on only 81-91 %
# of next tokens on random weights (target 95 %; BENCHMARKS.md, "int8 on CPU"), so by default it keeps float32.
INT8_CAPABLE = frozenset({"mms", "wav2vec2", "xls_r_translation", "bark"})
DEFAULT_INT8_FAMILIES = "mms,wav2vec2,xls_r_translation"


def int8_families() -> frozenset[str]:
    """The families that get int8 weights: APP_INT8_FAMILIES (comma-separated; "" for none), else the default."""
    setting = os.environ.get("APP_INT8_FAMILIES", DEFAULT_INT8_FAMILIES)
    return frozenset(name.strip() for name in setting.split(",") if name.strip()) & INT8_CAPABLE
# Per family: parameter-name patterns of Linear layers that stay float32.
KEEP_FLOAT: dict[str, re.Pattern[str]] = {
    "mms": re.compile(r"(^|\.)adapter_layer\.|^lm_head$"),  # switched per language
}
# Families whose output head, tied to the embeddings, gets an int8 copy of its own (the float32 matrix stays for the
# embedding lookup). XLS-R 21-to-en's MBart-50 head is 1024 x 250,054: per generated token and beam it takes more
# multiply-adds (256 M) than the rest of its decoder (about 190 M), and in float32 it kept the int8 model at 0.61 of
# float32's time (BENCHMARKS.md); the copy adds 0.25 GB beside the 1.0 GB embedding.
TIED_HEAD_COPY = frozenset({"xls_r_translation"})
# Attribute set on a model whose Linear layers were quantised: how many.
MARKER = "app_int8_layers"


def _skip_if_absent(load: Any) -> Any:
    """A `_load_from_state_dict` that keeps the module's weights when the state dict has none of its keys."""
    def partial_load(self: torch.nn.Module, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        if any(key.startswith(prefix) for key in state_dict):
            load(self, state_dict, prefix, *args, **kwargs)
    return partial_load


class Int8PackedParams(LinearPackedParams):
    """The packed int8 weight of an Int8Linear, passed by a partial load (see Int8Linear)."""

    _load_from_state_dict = _skip_if_absent(LinearPackedParams._load_from_state_dict)


class Int8Linear(DynamicInt8Linear):
    """torch's dynamic int8 Linear that lets a partial `load_state_dict(strict=False)` pass it by.

    MMS's `load_adapter` and `use_adapter` load only the adapter weights with `strict=False`; torch's quantised
    Linear (and its packed-weight child) would raise a KeyError for their own keys missing from such a state dict
    instead of keeping their weights.
    """

    _load_from_state_dict = _skip_if_absent(DynamicInt8Linear._load_from_state_dict)

    @classmethod
    def from_float(cls, mod: torch.nn.Module, use_precomputed_fake_quant: bool = False) -> "Int8Linear":
        """torch's conversion, with the packed weight made partial-load tolerant too."""
        linear = super().from_float(mod, use_precomputed_fake_quant)
        linear._packed_params.__class__ = Int8PackedParams  # same layout, only the loading hook differs
        return linear


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence exactly torch.ao.quantization's deprecation notices (module and quantised-tensor creation)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor, torch\.quantize_per_channel",
                                category=UserWarning)
        yield


def available() -> bool:
    """Whether this torch build has a CPU engine for int8 dynamic Linear (FBGEMM/x86 here, QNNPACK on ARM)."""
    return bool(set(torch.backends.quantized.supported_engines) & {"x86", "fbgemm", "qnnpack"})


def quantize(model: torch.nn.Module, family: str) -> int:
    """Replace the model's Linear layers by int8 ones in place (see the module); the number replaced."""
    keep = KEEP_FLOAT.get(family)
    shared = set() if family in TIED_HEAD_COPY else _shared_weights(model)
    chosen = [name for name, module in model.named_modules()
              if type(module) is torch.nn.Linear and not (keep and keep.search(name))
              and id(module.weight) not in shared]
    qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
    with _quiet(), torch.no_grad():
        for name in chosen:
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name)
            linear = getattr(parent, child)
            linear.qconfig = qconfig
            if linear.bias is not None:  # the int8 layer keeps the bias tensor itself: not a view of the file
                linear.bias.data = linear.bias.data.clone()
            setattr(parent, child, Int8Linear.from_float(linear))
            del linear  # the float32 weight goes now (unless an embedding shares it), before the next int8 copy
        _own_memory(model)
    setattr(model, MARKER, len(chosen))
    logger.info("int8 weights for %d Linear layers of a %s model", len(chosen), family)
    return len(chosen)


def _own_memory(model: torch.nn.Module) -> None:
    """Copy the float32 tensors left (norms, convolutions, adapters: a few per cent) out of the checkpoint file.

    transformers maps a safetensors file into memory and, on CPU at the stored dtype, keeps parameters as views of
    that mapping; the file's pages they touched count as this process's resident memory for as long as any
    parameter still views the mapping. With the quantised layers' float32 views gone, copying the rest lets the
    whole mapping go, so the int8 model's resident memory is its own size rather than the float32 file's.
    """
    for module in model.modules():
        for tensor in list(module._parameters.values()) + list(module._buffers.values()):
            if tensor is not None and tensor.device.type == "cpu":
                tensor.data = tensor.data.clone()  # the same Parameter object: tied weights stay tied


def is_quantized(model: Any) -> bool:
    """Whether `quantize` ran on this model."""
    return bool(getattr(model, MARKER, 0))


def packed_bytes(model: torch.nn.Module) -> int:
    """Bytes of the int8 layers' weights, biases and scales (not parameters, so model.parameters() misses them)."""
    total = 0
    for module in model.modules():
        if isinstance(module, DynamicInt8Linear):
            weight, bias = module._weight_bias()
            total += weight.numel() * weight.element_size()  # 1 byte per int8 weight
            total += weight.q_per_channel_scales().numel() * 12 if weight.qscheme() in (
                torch.per_channel_affine, torch.per_channel_symmetric) else 0  # float64 scale + int32 zero point
            total += 0 if bias is None else bias.numel() * bias.element_size()
    return total


def _shared_weights(model: torch.nn.Module) -> set[int]:
    """ids of weight tensors held by more than one module (tied heads and embeddings)."""
    owners: dict[int, int] = {}
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.Tensor):
            owners[id(weight)] = owners.get(id(weight), 0) + 1
    return {key for key, count in owners.items() if count > 1}
