//! This browser's WebGPU: the adapter probe behind the backend policy, and the burn device.
//!
//! `navigator.gpu` is read with `js_sys::Reflect`: web-sys has these bindings only behind
//! `--cfg=web_sys_unstable_apis` for the whole build, for the six properties read here.

#[cfg(feature = "webgpu")]
use std::cell::RefCell;

use burn::prelude::Device;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::backend::{BackendChoice, GpuInfo, GpuProbe, Placement, resolve};
use crate::error::DaeError;

fn get(target: &JsValue, key: &str) -> JsValue {
    if target.is_undefined() || target.is_null() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Asks `navigator.gpu` for an adapter and describes it; creates no device.
pub async fn probe() -> GpuProbe {
    let gpu = get(&get(&js_sys::global(), "navigator"), "gpu");
    let Some(request) = get(&gpu, "requestAdapter").dyn_ref::<js_sys::Function>().cloned() else {
        return GpuProbe::Unavailable("this JavaScript environment has no navigator.gpu".into());
    };
    let adapter = match request.call0(&gpu).map(|p| p.dyn_into::<js_sys::Promise>()) {
        Ok(Ok(p)) => JsFuture::from(p).await.unwrap_or(JsValue::NULL),
        _ => JsValue::NULL,
    };
    if adapter.is_null() || adapter.is_undefined() {
        return GpuProbe::Unavailable("navigator.gpu.requestAdapter() gave no adapter".into());
    }
    let info = get(&adapter, "info");
    let words: Vec<String> =
        ["vendor", "architecture", "device", "description"].iter().filter_map(|k| get(&info, k).as_string()).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    // `isFallbackAdapter` moved from the adapter to its info in 2024; browsers have either.
    let fallback = get(&info, "isFallbackAdapter").is_truthy() || get(&adapter, "isFallbackAdapter").is_truthy();
    GpuProbe::Adapter(GpuInfo::new(&words, fallback))
}

/// The backend policy's answer for `choice` in this browser, whichever module asks: the CPU-only
/// one answers too, so that a page knows whether the full module is worth fetching.
pub async fn policy(choice: BackendChoice) -> Result<Placement, DaeError> {
    let probe = if choice.needs_gpu_probe() { probe().await } else { GpuProbe::Unavailable("not asked".into()) };
    resolve(choice, &probe)
}

/// Where a model of this module goes: the policy's answer, except that the CPU-only module cannot
/// run WebGPU, so there "auto" stays on the CPU (saying so) and "webgpu" is refused.
pub async fn place(choice: BackendChoice) -> Result<Placement, DaeError> {
    if cfg!(feature = "webgpu") {
        return policy(choice).await;
    }
    const CPU_ONLY: &str =
        "this is the CPU-only module (mnist-dae/cpu, www/pkg-cpu); WebGPU needs the full one (mnist-dae, www/pkg)";
    match policy(choice).await {
        Ok(Placement::WebGpu { gpu, .. }) if choice == BackendChoice::Auto => {
            let cpu = resolve(BackendChoice::Cpu, &GpuProbe::Unavailable(String::new()))?;
            Ok(Placement::Cpu {
                note: format!("{}: WebGPU on {} is possible, but {CPU_ONLY}", cpu.note(), gpu.label()),
            })
        }
        Ok(Placement::WebGpu { .. }) | Err(_) if choice == BackendChoice::WebGpu => {
            resolve(choice, &GpuProbe::Unavailable(CPU_ONLY.into()))
        }
        other => other,
    }
}

/// The CPU, or this browser's WebGPU device for a placement on WebGPU.
pub async fn device(placement: &Placement) -> Result<Device, DaeError> {
    match placement {
        Placement::Cpu { .. } => Ok(crate::cpu_device()),
        Placement::WebGpu { .. } => webgpu_device().await,
    }
}

#[cfg(feature = "webgpu")]
thread_local! {
    /// burn registers one wgpu runtime per page (or worker): initialised once, then shared by
    /// every model created there.
    static DEVICE: RefCell<Option<Device>> = const { RefCell::new(None) };
}

#[cfg(not(feature = "webgpu"))]
pub async fn webgpu_device() -> Result<Device, DaeError> {
    Err(DaeError::Backend(
        "backend \"webgpu\": expected the full module, got the CPU-only one (mnist-dae/cpu, www/pkg-cpu)".into(),
    ))
}

#[cfg(feature = "webgpu")]
pub async fn webgpu_device() -> Result<Device, DaeError> {
    if let Some(device) = DEVICE.with(|d| d.borrow().clone()) {
        return Ok(device);
    }
    let (device, _setup) = Device::wgpu_options()
        .graphics_api(burn::tensor::wgpu::WgpuBackend::WebGpu)
        .init_with_setup_async()
        .await
        .map_err(|e| DaeError::backend("backend \"webgpu\": no WebGPU device could be had", e))?;
    DEVICE.with(|d| *d.borrow_mut() = Some(device.clone()));
    Ok(device)
}
