// Preloaded by scripts/avx2-only.sh: the process sees its CPU without AVX-512, AVX-VNNI and AMX,
// as an x86-64-v3 (AVX2 + FMA) CPU, so that code choosing its kernels at run time (this crate's
// `multiversion` kernels, the `gemm` crate, oneDNN under Keras, glibc is told by its tunables)
// runs its AVX2 versions on an AVX-512 machine. The CPU must support CPUID faulting (Linux ≥ 4.12,
// `cpuid_fault` in /proc/cpuinfo): `arch_prctl(ARCH_SET_CPUID, 0)` makes every CPUID instruction
// of the thread, and of the threads and processes it forks, raise SIGSEGV (a program it executes
// loads this library again through LD_PRELOAD); the handler runs it with faulting off, clears the
// bits and steps over the instruction. CPUID runs only while
// features are detected (each library caches what it finds), so timings are unaffected.
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

// 1: CPUID runs; 0: it raises SIGSEGV.
static long allow_cpuid(int allow) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, allow); }

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

// Bit numbers of CPUID leaf 7 from Intel's SDM, volume 2A, "CPUID—CPU Identification",
// table "Structured Extended Feature Flags Enumeration Leaf".
static void hide(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  if (leaf != 7) return;
  if (sub == 0) {
    // EBX: AVX512F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31.
    r[1] &= ~(1u << 16 | 1u << 17 | 1u << 21 | 1u << 26 | 1u << 27 | 1u << 28 | 1u << 30 | 1u << 31);
    // ECX: AVX512_VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14.
    r[2] &= ~(1u << 1 | 1u << 6 | 1u << 11 | 1u << 12 | 1u << 14);
    // EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, AMX-BF16 22, AVX512_FP16 23, AMX-TILE 24, AMX-INT8 25.
    r[3] &= ~(1u << 2 | 1u << 3 | 1u << 8 | 1u << 22 | 1u << 23 | 1u << 24 | 1u << 25);
  } else if (sub == 1) {
    // EAX: AVX-VNNI 4, AVX512_BF16 5 (TensorFlow turns oneDNN on by default for either).
    r[0] &= ~(1u << 4 | 1u << 5);
  }
}

static void on_segv(int sig, siginfo_t *info, void *context) {
  (void)info;
  greg_t *g = ((ucontext_t *)context)->uc_mcontext.gregs;
  const uint8_t *ip = (const uint8_t *)g[REG_RIP];
  if (ip[0] != 0x0f || ip[1] != 0xa2) {
    // A fault of the program's own: let it kill the process as it would have.
    signal(sig, SIG_DFL);
    return;
  }
  uint32_t r[4], leaf = (uint32_t)g[REG_RAX], sub = (uint32_t)g[REG_RCX];
  allow_cpuid(1);
  cpuid(leaf, sub, r);
  allow_cpuid(0);
  hide(leaf, sub, r);
  g[REG_RAX] = r[0];
  g[REG_RBX] = r[1];
  g[REG_RCX] = r[2];
  g[REG_RDX] = r[3];
  g[REG_RIP] += 2;
}

__attribute__((constructor)) static void avx2_only(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  uint32_t r[4];
  if (sigaction(SIGSEGV, &sa, NULL) != 0 || allow_cpuid(0) != 0) {
    fprintf(stderr, "avx2-only: expected CPUID faulting (arch_prctl ARCH_SET_CPUID), got an error: this CPU or kernel cannot hide AVX-512\n");
    exit(2);
  }
  cpuid(7, 0, r);
  if (r[1] & 1u << 16) {
    fprintf(stderr, "avx2-only: expected CPUID to report no AVX512F, got it reported\n");
    exit(2);
  }
}
