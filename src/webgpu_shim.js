// Workarounds for gaps between wgpu 30 / cubecl 0.11 and browsers' WebGPU, used only by
// src/wasm.rs while burn acquires its device.
//
// 1. cubecl's WGSL kernels (burn's matmul among them) use subgroup builtins and so start with
//    `enable subgroups;` in a browser, but wgpu's WebGPU backend does not forward the
//    "subgroups" feature when it requests a device (its feature map has no entry for it), and
//    Chromium then refuses those shaders ("extension 'subgroups' is not allowed").
//    -> add "subgroups" to the device request when the adapter has it.
// 2. Tint's uniformity analysis rejects some of those kernels ("'subgroupAdd' must only be called
//    from subgroup uniform control flow"); Naga, which the same kernels pass through natively,
//    does not run that analysis. The WGSL directive `diagnostic(off, subgroup_uniformity)` turns
//    the check into silence for exactly those modules; the results are checked against the CPU
//    backend in tests/browser/api.test.mjs.

function withRelaxedSubgroupUniformity(device) {
  const create = device.createShaderModule;
  device.createShaderModule = function createShaderModule(descriptor) {
    const code = descriptor?.code;
    if (typeof code === 'string' && code.includes('enable subgroups;')) {
      descriptor = { ...descriptor, code: `diagnostic(off, subgroup_uniformity);\n${code}` };
    }
    return create.call(this, descriptor);
  };
  return device;
}

/** Patches GPUAdapter.requestDevice; returns a function that restores the original. */
export function requestSubgroupsWhileInitialising() {
  const proto = globalThis.GPUAdapter?.prototype;
  const original = proto?.requestDevice;
  if (typeof original !== 'function') return () => {};
  proto.requestDevice = async function requestDevice(descriptor = {}) {
    if (!this.features.has('subgroups')) return original.call(this, descriptor);
    const features = new Set(descriptor.requiredFeatures ?? []);
    features.add('subgroups');
    const device = await original.call(this, { ...descriptor, requiredFeatures: [...features] });
    return withRelaxedSubgroupUniformity(device);
  };
  return () => { proto.requestDevice = original; };
}
