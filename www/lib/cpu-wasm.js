// Which build of the CPU-only module to load: the relaxed-SIMD one (www/pkg-cpu-relaxed, whose
// matrix products fuse multiply and add) where this engine validates relaxed SIMD (Chrome 114+,
// Firefox 145+, Node 22+), the plain SIMD one (www/pkg-cpu) elsewhere: Safari, and any engine that
// would refuse the whole module for one relaxed instruction. Both run under www/pkg-cpu's glue.

// The smallest module that uses relaxed SIMD: one function returning
// `i32x4.relaxed_trunc_f32x4_s(v128.const 0)` (opcode 0xfd 0x101, the relaxed-SIMD proposal).
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x0a, 0x19, 0x01, 0x17, 0x00, // code: one body of 23 bytes, no locals
  0xfd, 0x0c, ...new Array(16).fill(0), // v128.const 0
  0xfd, 0x81, 0x02, // i32x4.relaxed_trunc_f32x4_s
  0x0b, // end
]);

/** Whether this engine runs relaxed SIMD. */
export const relaxedSimd = () => {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
};

const plain = () => new URL('../pkg-cpu/mnist_dae_bg.wasm', import.meta.url);
const relaxed = () => new URL('../pkg-cpu-relaxed/mnist_dae_bg.wasm', import.meta.url);

/** Loads the CPU-only module through its glue's `init`: from `input` when the caller names one
 *  (a URL, bytes, a Response, a Module), else the relaxed build where it runs, and the plain one
 *  where it does not or where the relaxed file cannot be had (a host that did not copy it). */
export function loadCpu(init, input) {
  if (input !== undefined && input !== null) return init({ module_or_path: input });
  if (!relaxedSimd()) return init({ module_or_path: plain() });
  return init({ module_or_path: relaxed() }).catch(() => init({ module_or_path: plain() }));
}
