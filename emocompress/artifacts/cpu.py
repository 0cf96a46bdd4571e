"""The CPU's instruction-set flags that decide int8 speed and accuracy (read, never guessed).

ONNX Runtime's x86 int8 kernels differ by instruction set: with VNNI (AVX-512-VNNI or
AVX-VNNI) the u8s8 dot product is exact and fast; on AVX2 (and AVX-512 without VNNI) the u8s8
kernel adds pairs of u8*s8 products into int16 (vpmaddubsw), which saturates for
full-range values, so signed 7-bit weights (``reduce_range``) or u8 weights are needed there.
AMX tiles are used by newer ONNX Runtime builds for int8 too.
"""

from __future__ import annotations

import platform
from functools import lru_cache
from pathlib import Path

# the flags worth recording with a bench result, in the order they are printed
ISA_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_int8",
    "amx_bf16",
    "asimd",  # ARM NEON
    "asimddp",  # ARM int8 dot product (sdot/udot)
    "i8mm",  # ARM int8 matrix multiply
)


@lru_cache(maxsize=1)
def cpu_flags() -> tuple[str, ...]:
    """The ISA_FLAGS this CPU reports (Linux /proc/cpuinfo; empty where it cannot be read)."""
    return flags_from_cpuinfo(_read_cpuinfo())


def _read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""


def flags_from_cpuinfo(text: str) -> tuple[str, ...]:
    """The ISA_FLAGS named on the first ``flags`` (x86) or ``Features`` (ARM) line of ``text``."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            present = set(value.split())
            return tuple(flag for flag in ISA_FLAGS if flag in present)
    return ()


def has_vnni(flags: tuple[str, ...] | None = None) -> bool:
    """Whether int8 dot products are exact in ORT's u8s8 kernel (x86 VNNI, or ARM sdot)."""
    flags = cpu_flags() if flags is None else flags
    return bool({"avx512_vnni", "avx_vnni", "amx_int8", "asimddp"} & set(flags))


def architecture() -> str:
    return platform.machine()
