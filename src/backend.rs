//! The backend policy, written once: what `"auto"`, `"webgpu"` and `"cpu"` mean, for the npm API
//! and the widget alike. Acquiring a WebGPU device is the browser module's job (`crate::wasm`);
//! deciding whether to use it is this module's.

use burn::prelude::Device;
use serde::Deserialize;

use crate::error::DaeError;
#[cfg(not(target_arch = "wasm32"))]
use std::sync::atomic::{AtomicBool, Ordering};

/// The CPU backend, in one place: burn's pure-Rust `flex` backend (measured ≈ 20× faster than
/// `ndarray` on this model's train step; see `docs/benchmarks.md`).
pub fn cpu_device() -> Device {
    Device::flex()
}

/// burn-wgpu on Vulkan, natively (a GPU, or Mesa's lavapipe on the CPU), and its adapter: for
/// the trainer's `--backend vulkan`, the GPU benchmark (`npm run bench:gpu`) and the kernel
/// tests. The same runtime settings as the browser's WebGPU build (no `fusion`, no `autotune`:
/// Cargo.toml); cubecl compiles the kernels to WGSL, as in the browser, with either feature
/// (`vulkan` turns on `webgpu`). The model's kernels are sized for the adapter found.
#[cfg(all(feature = "webgpu", not(target_arch = "wasm32")))]
pub fn vulkan_device() -> Result<(Device, GpuInfo), DaeError> {
    use burn::tensor::wgpu::{WgpuBackend, wgpu};
    use std::sync::OnceLock;
    // burn registers one runtime per device for the life of the process: the first call makes
    // it, later ones get the same (a second registration would fail).
    static MADE: OnceLock<Result<(Device, GpuInfo), DaeError>> = OnceLock::new();
    let made = MADE.get_or_init(|| {
        let (device, setup) = Device::wgpu_options()
            .graphics_api(WgpuBackend::Vulkan)
            .init_with_setup()
            .map_err(|e| DaeError::backend("backend vulkan: expected a Vulkan adapter, got none", e))?;
        let info = setup.adapter.get_info();
        // The driver's name only where the adapter's does not already say it (lavapipe: "llvmpipe").
        let driver = if info.name.contains(&info.driver) { "" } else { info.driver.as_str() };
        let words = [info.name.as_str(), driver, info.driver_info.as_str()];
        Ok((device, GpuInfo::new(&words, info.device_type == wgpu::DeviceType::Cpu)))
    });
    let (device, gpu) = made.clone()?;
    crate::ops::set_software_adapter(gpu.software);
    Ok((device, gpu))
}

/// What a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase", expecting = "\"auto\", \"webgpu\" or \"cpu\"")]
pub enum BackendChoice {
    /// WebGPU on a hardware adapter, the CPU otherwise (a software adapter such as SwiftShader
    /// trains ≈ 35× slower than the CPU backend here: `docs/benchmarks.md`).
    #[default]
    Auto,
    /// WebGPU on whatever adapter there is, software included, or an error.
    WebGpu,
    /// burn's flex backend.
    Cpu,
}

impl BackendChoice {
    /// Parses `"auto"`, `"webgpu"` or `"cpu"`.
    pub fn parse(name: &str) -> Result<Self, DaeError> {
        match name {
            "auto" => Ok(Self::Auto),
            "webgpu" => Ok(Self::WebGpu),
            "cpu" => Ok(Self::Cpu),
            other => Err(DaeError::Input(format!("backend: expected \"auto\", \"webgpu\" or \"cpu\", got {other:?}"))),
        }
    }

    /// Whether resolving this choice needs to know about the GPU at all.
    pub fn needs_gpu_probe(self) -> bool {
        self != Self::Cpu
    }
}

/// A WebGPU adapter as the browser describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuInfo {
    /// Vendor, architecture, device and driver words, as far as the browser tells them.
    pub name: String,
    /// A CPU renderer (SwiftShader, lavapipe, llvmpipe, or an adapter that says it is a fallback).
    pub software: bool,
}

impl GpuInfo {
    /// An adapter from the words the browser gives (`GPUAdapterInfo`'s vendor, architecture,
    /// device, description; wgpu's name and driver) and whether it said it is a fallback or CPU
    /// adapter.
    pub fn new(words: &[&str], fallback: bool) -> Self {
        let name = words.iter().map(|w| w.trim()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
        let lower = name.to_lowercase();
        // Chromium's fallback rasteriser and Mesa's CPU drivers show up under these names.
        let software = fallback || ["swiftshader", "lavapipe", "llvmpipe"].iter().any(|s| lower.contains(s));
        Self { name, software }
    }

    /// The adapter's name for people: its words, or what kind it is when it gave none.
    pub fn label(&self) -> &str {
        if !self.name.is_empty() {
            &self.name
        } else if self.software {
            "a software adapter"
        } else {
            "a GPU that gave no name"
        }
    }
}

/// What the GPU probe found: an adapter, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuProbe {
    /// `navigator.gpu` gave an adapter.
    Adapter(GpuInfo),
    /// No adapter (no WebGPU in this environment, the request failed, or this is the CPU-only
    /// module): the reason, for the note.
    Unavailable(String),
}

/// Where a model runs, with a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// On the CPU; `note` says why when WebGPU was possible.
    Cpu { note: String },
    /// On WebGPU on this adapter.
    WebGpu { gpu: GpuInfo, note: String },
}

impl Placement {
    /// `"cpu"` or `"webgpu"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Cpu { .. } => "cpu",
            Self::WebGpu { .. } => "webgpu",
        }
    }

    /// The sentence shown beside the backend.
    pub fn note(&self) -> &str {
        match self {
            Self::Cpu { note } | Self::WebGpu { note, .. } => note,
        }
    }

    /// True on a software WebGPU adapter.
    pub fn software(&self) -> bool {
        matches!(self, Self::WebGpu { gpu, .. } if gpu.software)
    }

    /// The CPU, after WebGPU on `gpu` failed its self-check ([`crate::check`]): `why` says how.
    pub fn untrusted(gpu: &GpuInfo, why: &str) -> Self {
        Self::Cpu { note: format!("{CPU}: WebGPU on {} failed its self-check ({why})", gpu.label()) }
    }

    /// The CPU, after the WebGPU device failed under a model at step `failed_at` (`why`: the
    /// device's words) and the model went on from its host copy of step `resumed_at`.
    pub fn fell_back(why: &str, failed_at: u64, resumed_at: u64) -> Self {
        Self::Cpu {
            note: format!(
                "{CPU}: WebGPU failed at step {failed_at} ({why}); continued from the copy of step {resumed_at}"
            ),
        }
    }
}

/// The CPU backend, for people: in the browser one WebAssembly thread (no COOP/COEP headers are
/// needed), natively every core.
const CPU: &str = if cfg!(target_arch = "wasm32") { "CPU (WebAssembly, one thread)" } else { "CPU (flex, every core)" };

/// The one policy. `auto`: WebGPU on a hardware adapter, the CPU otherwise; `webgpu`: WebGPU on
/// any adapter, or an error naming why there is none; `cpu`: the CPU. `probe` is consulted only
/// when [`BackendChoice::needs_gpu_probe`].
pub fn resolve(choice: BackendChoice, probe: &GpuProbe) -> Result<Placement, DaeError> {
    match (choice, probe) {
        (BackendChoice::Cpu, _) => Ok(Placement::Cpu { note: CPU.into() }),
        (BackendChoice::Auto, GpuProbe::Unavailable(why)) => {
            Ok(Placement::Cpu { note: format!("{CPU}: no WebGPU here ({why})") })
        }
        (BackendChoice::Auto, GpuProbe::Adapter(gpu)) if gpu.software => Ok(Placement::Cpu {
            note: format!(
                "{CPU}: WebGPU here is {}, a CPU renderer that trains far slower than this; choose WebGPU to use it anyway",
                gpu.label()
            ),
        }),
        (BackendChoice::Auto | BackendChoice::WebGpu, GpuProbe::Adapter(gpu)) => {
            let note = if gpu.software {
                format!("WebGPU on {} (a software renderer: slower than the CPU backend)", gpu.label())
            } else {
                format!("WebGPU on {}", gpu.label())
            };
            Ok(Placement::WebGpu { gpu: gpu.clone(), note })
        }
        (BackendChoice::WebGpu, GpuProbe::Unavailable(why)) => Err(DaeError::Backend(format!(
            "backend \"webgpu\": expected a WebGPU adapter, got none ({why}); use \"auto\" or \"cpu\" to run on the CPU"
        ))),
    }
}

/// Runs `work`, a call's worth of the model's ops, on one of the CPU kernels' threads (rayon's
/// pool) natively, with the pool's other threads kept looking for work until it returns; in the
/// browser, whose modules are single-threaded, on the caller's thread.
///
/// Why on the pool: each CPU kernel splits its images over the pool's threads. Called from a
/// thread outside the pool (a program's main thread), each split is a job sent through the pool's
/// shared queue while the caller sleeps until it is done and is woken again, once per op, some 45
/// times a train step; from a thread of the pool, a split is a fork on that thread's own deque,
/// which the other threads steal from. `rayon::scope` runs its closure on a thread of the pool
/// (sending it there when called from outside).
///
/// Why kept looking: between two ops (the autodiff graph's bookkeeping, a single-threaded step)
/// a thread that finds no work for a few dozen microseconds goes to sleep, and the next op's
/// split has to wake it through the kernel; a train step did that some 20 times, each wake-up
/// late by tens of microseconds while the op waited for its other half (docs/benchmarks.md). So,
/// as OpenMP runtimes keep their threads spinning for a while after a parallel region, each other
/// thread of the pool runs a job that takes the pool's work ([`rayon::yield_now`]) until `work`
/// is done. Only for the length of the call: the threads sleep again between calls.
pub fn on_kernel_threads<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    #[cfg(not(target_arch = "wasm32"))]
    {
        /// Tells the looking jobs to stop when dropped: after `work` returns, and as a panic in
        /// it unwinds, without which the scope would wait on them for ever instead of passing
        /// the panic on.
        struct Done<'a>(&'a AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Release);
            }
        }
        let done = AtomicBool::new(false);
        let done = &done;
        rayon::scope(|s| {
            let owner = rayon::current_thread_index();
            for _ in 1..rayon::current_num_threads() {
                s.spawn(move |_| {
                    // Taken by the thread running `work` (from its own deque, while it waits in a
                    // fork): spinning there would stop `work` under it, so nothing to do.
                    if rayon::current_thread_index() == owner {
                        return;
                    }
                    while !done.load(Ordering::Acquire) {
                        if rayon::yield_now() != Some(rayon::Yield::Executed) {
                            std::hint::spin_loop();
                        }
                    }
                });
            }
            let _stop = Done(done);
            work()
        })
    }
    #[cfg(target_arch = "wasm32")]
    {
        work()
    }
}

/// For the native binaries, whose global allocator is mimalloc: keep the memory freed between
/// ops for reuse instead of handing it back to the kernel 10 ms later (mimalloc's default purge
/// delay). A train step frees and allocates the same ≈ 60 MB of tensors every 20 ms or so; with
/// the default, those pages came back from the kernel as freshly zeroed huge pages on every step
/// (5,400 page faults and 16 % more CPU time over a 40-step benchmark; docs/benchmarks.md). Memory
/// then stays at the peak of a step, which the next step reuses. Harmless where mimalloc is
/// linked but not the global allocator (the tests).
#[cfg(not(target_arch = "wasm32"))]
pub fn keep_freed_memory() {
    // `mi_option_purge_delay` of mimalloc.h (v3, the one libmimalloc-sys 0.1.49 builds): the
    // crate declares the options around it (14, 16) but not this one. -1: never purge.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: sets a process-wide option; mimalloc reads options atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hardware() -> GpuProbe {
        GpuProbe::Adapter(GpuInfo::new(&["nvidia", "ampere", "", ""], false))
    }

    fn swiftshader() -> GpuProbe {
        GpuProbe::Adapter(GpuInfo::new(&["google", "swiftshader", "", "Google SwiftShader"], false))
    }

    fn none() -> GpuProbe {
        GpuProbe::Unavailable("no navigator.gpu".into())
    }

    #[test]
    fn auto_is_webgpu_on_hardware_and_the_cpu_otherwise() {
        assert_eq!(resolve(BackendChoice::Auto, &hardware()).unwrap().name(), "webgpu");
        let soft = resolve(BackendChoice::Auto, &swiftshader()).unwrap();
        assert_eq!(soft.name(), "cpu");
        assert!(soft.note().contains("CPU renderer"), "{}", soft.note());
        let absent = resolve(BackendChoice::Auto, &none()).unwrap();
        assert_eq!(absent.name(), "cpu");
        assert!(absent.note().contains("no navigator.gpu"), "{}", absent.note());
        let fallback = GpuProbe::Adapter(GpuInfo::new(&[], true));
        assert_eq!(resolve(BackendChoice::Auto, &fallback).unwrap().name(), "cpu");
    }

    #[test]
    fn webgpu_takes_any_adapter_and_flags_software_ones() {
        let hw = resolve(BackendChoice::WebGpu, &hardware()).unwrap();
        assert!(!hw.software());
        assert_eq!(hw.note(), "WebGPU on nvidia ampere");
        let soft = resolve(BackendChoice::WebGpu, &swiftshader()).unwrap();
        assert_eq!(soft.name(), "webgpu");
        assert!(soft.software());
        let err = resolve(BackendChoice::WebGpu, &none()).unwrap_err();
        assert_eq!(err.kind().code(), "backend");
        assert!(err.to_string().contains("no navigator.gpu"), "{err}");
    }

    #[test]
    fn cpu_is_the_cpu_whatever_the_gpu() {
        for probe in [hardware(), swiftshader(), none()] {
            assert_eq!(resolve(BackendChoice::Cpu, &probe).unwrap(), Placement::Cpu { note: CPU.into() });
        }
        assert!(!BackendChoice::Cpu.needs_gpu_probe());
    }

    #[test]
    fn names_parse_and_unknown_ones_are_refused() {
        assert_eq!(BackendChoice::parse("webgpu").unwrap(), BackendChoice::WebGpu);
        let err = BackendChoice::parse("gpu").unwrap_err();
        assert_eq!(err.to_string(), "invalid input: backend: expected \"auto\", \"webgpu\" or \"cpu\", got \"gpu\"");
        assert_eq!(GpuInfo::new(&[], false).label(), "a GPU that gave no name");
    }

    /// `on_kernel_threads` gives back what its work returns, and returns (its threads stop
    /// looking for work) from outside the pool, from inside it, nested, with forks in the work,
    /// when the work's own thread takes one of the jobs that keep the others busy, and in pools
    /// of one and of three threads; a panic in the work reaches the caller. A hang fails after a
    /// minute instead of hanging.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn kernel_threads_return_the_work_and_let_go() {
        let forks = || {
            let (a, b) = rayon::join(|| (0..1000u64).sum::<u64>(), || on_kernel_threads(|| 7u64));
            a + b
        };
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // `yield_local` first: the work's thread likely runs a job from its own deque (one
            // of those keeping the other threads busy) before another thread takes it.
            let yields = || {
                rayon::yield_local();
                forks()
            };
            let mut got = vec![on_kernel_threads(forks), on_kernel_threads(|| on_kernel_threads(forks))];
            got.push(on_kernel_threads(yields));
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                got.push(pool.install(|| on_kernel_threads(yields)));
            }
            let panicked = std::panic::catch_unwind(|| on_kernel_threads(|| panic!("a kernel's assert")));
            sender.send((got, panicked.is_err())).unwrap();
        });
        let (got, panicked) =
            receiver.recv_timeout(std::time::Duration::from_secs(60)).expect("on_kernel_threads returned");
        assert_eq!(got, vec![499_507; 5]);
        assert!(panicked, "the work's panic reached the caller");
    }
}
