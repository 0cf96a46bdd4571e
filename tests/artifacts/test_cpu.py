"""CPU flags: read from /proc/cpuinfo text, recorded with the machine facts."""

from __future__ import annotations

from emocompress.artifacts.cpu import flags_from_cpuinfo, has_vnni
from emocompress.artifacts.rundir import machine

AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma bmi2\n"
ZEN4 = "flags\t\t: avx2 fma avx512f avx512bw avx512_vnni avx512_bf16\n"
ARM = "Features\t: fp asimd evtstrm aes asimddp i8mm\n"


def test_flags_are_read_from_the_flags_line_and_vnni_follows_them():
    assert flags_from_cpuinfo(AVX2_ONLY) == ("avx2", "fma")
    assert not has_vnni(flags_from_cpuinfo(AVX2_ONLY))
    assert flags_from_cpuinfo(ZEN4) == (
        "avx2",
        "fma",
        "avx512f",
        "avx512bw",
        "avx512_vnni",
        "avx512_bf16",
    )
    assert has_vnni(flags_from_cpuinfo(ZEN4))
    assert has_vnni(flags_from_cpuinfo(ARM))
    assert flags_from_cpuinfo("no flags here") == ()


def test_machine_facts_carry_this_cpus_flags():
    facts = machine()
    assert isinstance(facts["cpu_flags"], list)
    assert all(isinstance(flag, str) for flag in facts["cpu_flags"])
