//! This browser's WebGPU: the adapter probe behind the backend policy, and the devices models
//! run on. A device is trusted only after it passed the self-check ([`crate::check`]); one that
//! failed (lost, an uncaptured error, a failed call) is dropped and never handed out again.
//!
//! `navigator.gpu` is read with `js_sys::Reflect`: web-sys has these bindings only behind
//! `--cfg=web_sys_unstable_apis` for the whole build, for the six properties read here.

use std::rc::Rc;

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

/// A WebGPU device in use: burn's handle and what went wrong on it, if anything.
pub struct Gpu {
    pub device: Device,
    /// The first uncaptured error the browser reported on the device (a shader that failed
    /// validation, an out-of-memory…): after one, no result of the device is trusted.
    #[cfg(feature = "webgpu")]
    fault: std::sync::Arc<std::sync::OnceLock<String>>,
}

impl Gpu {
    /// What the browser reported against the device since it was made, if anything.
    pub fn fault(&self) -> Option<String> {
        #[cfg(feature = "webgpu")]
        return self.fault.get().cloned();
        #[cfg(not(feature = "webgpu"))]
        None
    }
}

/// Where a model's tensors live.
#[derive(Clone)]
pub enum Target {
    Cpu,
    WebGpu(Rc<Gpu>),
}

impl Target {
    pub fn device(&self) -> Device {
        match self {
            Self::Cpu => crate::cpu_device(),
            Self::WebGpu(gpu) => gpu.device.clone(),
        }
    }
}

/// Where a model of this module goes, and its device: the policy's answer, on a device that
/// passed the self-check. A device that fails it puts the model on the CPU, saying why; `auto`
/// also goes to the CPU when no device can be had. The CPU-only module cannot run WebGPU, so
/// there "auto" stays on the CPU (saying so) and "webgpu" is refused.
pub async fn place(choice: BackendChoice) -> Result<(Placement, Target), DaeError> {
    let placement = policy(choice).await;
    if !cfg!(feature = "webgpu") {
        const CPU_ONLY: &str =
            "this is the CPU-only module (mnist-dae/cpu, www/pkg-cpu); WebGPU needs the full one (mnist-dae, www/pkg)";
        let cpu = resolve(BackendChoice::Cpu, &GpuProbe::Unavailable(String::new()))?;
        return match placement {
            Ok(Placement::WebGpu { gpu, .. }) if choice == BackendChoice::Auto => Ok((
                Placement::Cpu {
                    note: format!("{}: WebGPU on {} is possible, but {CPU_ONLY}", cpu.note(), gpu.label()),
                },
                Target::Cpu,
            )),
            Ok(Placement::WebGpu { .. }) | Err(_) if choice == BackendChoice::WebGpu => {
                resolve(choice, &GpuProbe::Unavailable(CPU_ONLY.into())).map(|p| (p, Target::Cpu))
            }
            other => other.map(|p| (p, Target::Cpu)),
        };
    }
    let placement = placement?;
    let Placement::WebGpu { gpu: info, .. } = &placement else { return Ok((placement, Target::Cpu)) };
    #[cfg(feature = "webgpu")]
    crate::ops::set_software_adapter(info.software);
    match trusted().await {
        Ok(gpu) => Ok((placement, Target::WebGpu(gpu))),
        Err(Refusal::Failed(why)) => Ok((Placement::untrusted(info, &why), Target::Cpu)),
        Err(Refusal::Unavailable(e)) if choice == BackendChoice::Auto => {
            let cpu = resolve(BackendChoice::Cpu, &GpuProbe::Unavailable(String::new()))?;
            Ok((Placement::Cpu { note: format!("{}: WebGPU gave no working device ({e})", cpu.note()) }, Target::Cpu))
        }
        Err(Refusal::Unavailable(e)) => Err(e),
    }
}

/// Why no device was handed out.
enum Refusal {
    /// None could be had (no adapter, or the device request failed).
    Unavailable(DaeError),
    /// One was had, but it failed the self-check: why. (Never in the CPU-only module.)
    #[cfg_attr(not(feature = "webgpu"), allow(dead_code))]
    Failed(String),
}

#[cfg(feature = "webgpu")]
thread_local! {
    /// The device models of this page (or worker) share while it keeps working: burn registers
    /// one runtime per device, made once and then shared by every model on it.
    static CURRENT: std::cell::RefCell<Option<Rc<Gpu>>> = const { std::cell::RefCell::new(None) };
}

/// Never hands out `gpu` again (it failed under a model).
pub fn forget(gpu: &Rc<Gpu>) {
    #[cfg(feature = "webgpu")]
    CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        if current.as_ref().is_some_and(|g| Rc::ptr_eq(g, gpu)) {
            *current = None;
        }
    });
    #[cfg(not(feature = "webgpu"))]
    let _ = gpu;
}

#[cfg(not(feature = "webgpu"))]
async fn trusted() -> Result<Rc<Gpu>, Refusal> {
    Err(Refusal::Unavailable(DaeError::Backend(
        "backend \"webgpu\": expected the full module, got the CPU-only one (mnist-dae/cpu, www/pkg-cpu)".into(),
    )))
}

/// The shared device when it still answers, else a new one that passed the self-check.
#[cfg(feature = "webgpu")]
async fn trusted() -> Result<Rc<Gpu>, Refusal> {
    if let Some(gpu) = CURRENT.with(|c| c.borrow().clone()) {
        // A device can be lost with no model on it (a driver reset, `GPUDevice.destroy()`): one
        // value read back proves it still answers before another model is put on it.
        let answered = burn::tensor::Tensor::<1>::zeros([1], &gpu.device).into_data_async().await;
        if answered.is_ok() && gpu.fault().is_none() {
            return Ok(gpu);
        }
        forget(&gpu);
    }
    let gpu = Rc::new(acquire().await.map_err(Refusal::Unavailable)?);
    let checked = crate::check::self_check(&gpu.device).await;
    let checked = match (checked, gpu.fault()) {
        (Ok(_), Some(fault)) => Err(format!("the device reported: {fault}")),
        (Ok(agreement), None) => Ok(agreement),
        (Err(e), _) => Err(e.to_string()),
    };
    match checked {
        Ok(agreement) => {
            log::info!(
                "WebGPU self-check passed: max difference {:.1e} in {:.2} s",
                agreement.max_difference,
                agreement.seconds
            );
            CURRENT.with(|c| *c.borrow_mut() = Some(gpu.clone()));
            Ok(gpu)
        }
        Err(why) => Err(Refusal::Failed(why)),
    }
}

/// A new WebGPU device registered with burn (a runtime of its own, so that one lost earlier
/// never comes back), whose uncaptured errors are kept instead of cubecl's default of panicking.
/// The device is requested as cubecl requests its own (`cubecl-wgpu`'s WGSL setup): every
/// adapter feature but mappable primary buffers, the adapter's limits, memory-saving hints.
#[cfg(feature = "webgpu")]
async fn acquire() -> Result<Gpu, DaeError> {
    use burn::tensor::wgpu::{WgpuSetup, wgpu};
    let no_device = |e: &dyn std::fmt::Debug| DaeError::backend("backend \"webgpu\": no WebGPU device could be had", e);
    let backend = wgpu::Backend::BrowserWebGpu;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: backend.into(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        })
        .await
        .map_err(|e| no_device(&e))?;
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("mnist-dae"),
            required_features: adapter.features().difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
            required_limits: adapter.limits(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::MemoryUsage,
            trace: wgpu::Trace::Off,
        })
        .await
        .map_err(|e| no_device(&e))?;
    let handle = device.clone();
    let setup = WgpuSetup { instance, adapter, device, queue, backend };
    let burn_device = Device::wgpu_options().setup(setup).init().map_err(|e| no_device(&e))?;
    // After burn's registration, which installs cubecl's handler: this one replaces it.
    let fault = std::sync::Arc::new(std::sync::OnceLock::new());
    let keep = fault.clone();
    handle.on_uncaptured_error(std::sync::Arc::new(move |error| {
        let line = crate::error::first_line(&error.to_string());
        log::error!("WebGPU error: {line}");
        let _ = keep.set(line);
    }));
    Ok(Gpu { device: burn_device, fault })
}

/// The shared WebGPU device, self-checked, for the kernel probe (`webgpu-probe` builds only).
#[cfg(feature = "webgpu-probe")]
pub async fn webgpu_device() -> Result<Device, DaeError> {
    if let GpuProbe::Adapter(info) = probe().await {
        crate::ops::set_software_adapter(info.software);
    }
    match trusted().await {
        Ok(gpu) => Ok(gpu.device.clone()),
        Err(Refusal::Unavailable(e)) => Err(e),
        Err(Refusal::Failed(why)) => Err(DaeError::Backend(format!("backend \"webgpu\": {why}"))),
    }
}
