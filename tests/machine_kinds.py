"""The three CPU kinds this project's machines come in, as ``/proc/cpuinfo`` shows them (flags read
off such machines), so a test on one kind can check the choices made on the other two."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MachineKind:
    name: str  # what /proc/cpuinfo calls the CPU
    flags: frozenset[str]


_BASE = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall "
    "nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid tsc_known_freq pni pclmulqdq "
    "ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand "
    "hypervisor lahf_lm abm 3dnowprefetch fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap "
    "clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves arat umip rdpid"
)
_AVX512 = (
    "avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx512vbmi avx512_vbmi2 gfni vaes vpclmulqdq "
    "avx512_vnni avx512_bitalg avx512_vpopcntdq avx512_bf16 fsrm"
)
_AMD = "mmxext fxsr_opt extd_apicid cmp_legacy cr8_legacy sse4a misalignsse osvw topoext vmmcall clzero xsaveerptr"

KINDS = {
    "xeon-amx": MachineKind(
        "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz",
        frozenset(
            f"{_BASE} {_AVX512} ss ibrs_enhanced hle rtm avx_vnni waitpkg la57 cldemote movdiri movdir64b "
            "md_clear serialize tsxldtrk amx_bf16 avx512_fp16 amx_tile amx_int8".split()
        ),
    ),
    "epyc-avx512-bf16": MachineKind("AMD EPYC", frozenset(f"{_BASE} {_AVX512} {_AMD} cpuid_fault".split())),
    "epyc-avx2": MachineKind("AMD EPYC", frozenset(f"{_BASE} {_AMD} ssbd ibrs ibpb stibp npt nrip_save".split())),
}
