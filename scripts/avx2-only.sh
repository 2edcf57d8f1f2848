#!/usr/bin/env bash
# Runs a command as on an AVX2 + FMA CPU (x86-64-v3) on a machine with AVX-512: AVX-512, AVX-VNNI
# and AMX hidden from CPUID (scripts/avx2-only.c, preloaded) and from glibc's own string
# functions (its tunables). Used by `npm test` to test the kernels' AVX2 versions and by
# `BENCH_ISA=avx2 npm run bench` to time them beside Keras's. Needs a C compiler and CPUID
# faulting (`cpuid_fault` in /proc/cpuinfo; most KVM guests and bare-metal Intel CPUs have it).
#   bash scripts/avx2-only.sh COMMAND [ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
so="${CARGO_TARGET_DIR:-$here/../target}/avx2-only.so"
if [[ ! -f "$so" || "$here/avx2-only.c" -nt "$so" ]]; then
  mkdir -p "$(dirname "$so")"
  cc -O2 -shared -fPIC -Wall -Werror -o "$so" "$here/avx2-only.c"
fi
export GLIBC_TUNABLES="glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}"
export LD_PRELOAD="$so${LD_PRELOAD:+:$LD_PRELOAD}"
exec "$@"
