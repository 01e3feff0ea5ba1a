"""Which torch device and dtype the models run on.

`gpu.device` in workbench.yaml is a request: "auto" takes the best accelerator present,
while an explicit accelerator that is missing stops the run instead of silently falling
back to a CPU that may take hours on work sized for a GPU.
"""

from __future__ import annotations

import torch

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _available(device: str) -> bool:
    if device == "cuda":
        return torch.cuda.is_available()
    if device == "mps":
        return _mps_available()
    return device == "cpu"


def _auto_dtype(device: str) -> torch.dtype:
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def pick_device(preference: str = "auto", dtype: str = "auto") -> tuple[str, torch.dtype]:
    if preference == "auto":
        device = next(d for d in ("cuda", "mps", "cpu") if _available(d))
    elif preference in ("cuda", "mps", "cpu"):
        if not _available(preference):
            what = "CUDA GPU" if preference == "cuda" else "Apple MPS device"
            raise RuntimeError(
                f"device {preference!r} requested in gpu.device but no {what} is visible; "
                "set gpu.device to 'auto' or 'cpu' to run without it"
            )
        device = preference
    else:
        raise ValueError(f"gpu.device must be one of auto, cuda, mps, cpu (got {preference!r})")
    if dtype == "auto":
        return device, _auto_dtype(device)
    if dtype not in _DTYPES:
        raise ValueError(f"gpu.dtype must be one of auto, {', '.join(_DTYPES)} (got {dtype!r})")
    return device, _DTYPES[dtype]


def describe_device(device: str) -> dict:
    """Recorded with each model run, so a score can be traced to the hardware that produced it."""
    info: dict = {
        "device": str(device),
        "torch_version": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
    }
    if str(device).startswith("cuda"):
        index = torch.device(device).index or 0
        props = torch.cuda.get_device_properties(index)
        info |= {
            "name": props.name,
            "cuda_version": torch.version.cuda,
            "memory_gib": round(props.total_memory / 2**30, 2),
            "bf16_supported": torch.cuda.is_bf16_supported(),
        }
    elif str(device) == "mps":
        info["name"] = "Apple MPS"
    else:
        info["name"] = "cpu"
    return info
