"""What machine this is, for benchmark reports and model cards."""

from __future__ import annotations

import platform
from pathlib import Path


def _cpuinfo(field: str) -> str | None:
    """The first ``field`` line's value in ``/proc/cpuinfo``, None where there is none."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_name() -> str:
    """The CPU model name ("AMD EPYC", "Intel(R) Xeon(R) ..."), or the platform's best guess."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU feature flags the kernel reports (``/proc/cpuinfo``), empty where unknown."""
    return set((_cpuinfo("flags") or "").split())


def default_precision(device: str = "cpu", flags: set[str] | None = None) -> tuple[str, str]:
    """``(backend, precision)`` picked for this machine, from what was measured (see the
    README's speed section): CUDA -> torch fp16; a CPU with native bf16 matmuls (AMX, or
    AVX-512 BF16) -> torch bf16 autocast; any other CPU -> ONNX Runtime int8 when onnxruntime
    is installed (kept only where it is faithful, see :func:`fashionclip.loading.load_model`),
    else torch fp32."""
    if device.startswith("cuda"):
        return "torch", "fp16"
    flags = cpu_flags() if flags is None else flags
    if "amx_bf16" in flags or "avx512_bf16" in flags:
        return "torch", "bf16"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "torch", "fp32"
    return "onnx", "int8"
