//! The training session shared by the native trainer and the browser: resumable runs, the
//! epoch cursor, noise and validation, the command-line binary end to end on a small subset, and
//! the shipped weights against their recorded loss.

use std::path::{Path, PathBuf};
use std::process::Command;

use futures_lite::future::block_on;
use mnist_dae::backend::cpu_device;
use mnist_dae::data::{Mnist, Split, default_dir};
use mnist_dae::session::{
    EpochRecord, Schedule, Session, SessionConfig, SessionState, VALIDATION_NOISE_SEED, checkpoint,
};
use mnist_dae::{DaeConfig, Trainer, TrainerConfig, add_noise};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mnist-dae-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn small() -> SessionConfig {
    SessionConfig::new().with_epochs(2).with_batch_size(32).with_train_images(320).with_val_images(64).with_seed(7)
}

fn data(config: &SessionConfig) -> (Mnist, Mnist) {
    let dir = default_dir();
    let train = Mnist::read(&dir, Split::Train).unwrap().prefix(config.train_images, "train").unwrap();
    (train, Mnist::read(&dir, Split::Test).unwrap())
}

fn session(config: &SessionConfig) -> Session {
    let (train, test) = data(config);
    Session::new(config.clone(), train, test, &cpu_device()).unwrap()
}

/// Steps (closing epochs as they complete) until the session is finished or `limit` steps were
/// taken; returns every loss and every epoch record.
fn drive(s: &mut Session, limit: usize) -> (Vec<f32>, Vec<EpochRecord>) {
    let (mut losses, mut records) = (Vec::new(), Vec::new());
    while !s.finished() {
        if s.epoch_complete() {
            records.push(block_on(s.finish_epoch()).expect("epoch"));
        } else if losses.len() < limit {
            losses.push(block_on(s.step()).expect("step").loss);
        } else {
            break;
        }
    }
    (losses, records)
}

#[test]
fn a_resumed_session_takes_exactly_the_steps_of_an_uninterrupted_one() {
    let config = small();
    assert_eq!(config.steps_per_epoch(), 10);

    let mut whole = session(&config);
    let (losses, records) = drive(&mut whole, usize::MAX);
    assert_eq!(losses.len(), 20);
    assert_eq!(whole.history(), &records[..], "the session keeps its history");

    // Stop mid-epoch (step 13 of 20), checkpoint, and continue in a new session from the files.
    let ckpt = scratch("resume");
    let mut first = session(&config);
    let (mut resumed_losses, mut resumed_records) = drive(&mut first, 13);
    checkpoint::save(&first, &ckpt).unwrap();
    drop(first);
    let saved = checkpoint::config(&ckpt).unwrap();
    let (train, test) = data(&saved);
    let mut second = checkpoint::resume(&ckpt, train, test, &cpu_device()).unwrap();
    assert_eq!(second.steps(), 13);
    assert_eq!(second.progress().steps_in_epoch, 3);
    let (rest, rest_records) = drive(&mut second, usize::MAX);
    resumed_losses.extend(rest);
    resumed_records.extend(rest_records);

    assert_eq!(resumed_losses, losses, "bit-identical losses after resuming");
    assert_eq!(
        block_on(second.save_weights()).unwrap(),
        block_on(whole.save_weights()).unwrap(),
        "identical final weights"
    );
    let strip = |r: &[EpochRecord]| r.iter().map(|r| (r.epoch, r.steps, r.train_loss, r.val_loss)).collect::<Vec<_>>();
    assert_eq!(strip(&resumed_records), strip(&records));
    assert_eq!(strip(second.history()), strip(&records), "the history came through the checkpoint");
    assert!(records[1].val_loss < records[0].val_loss, "validation loss falls: {records:?}");
}

#[test]
fn a_session_continues_from_its_state_and_weights_as_the_browser_saves_them() {
    let config = small().with_fresh_noise(true);
    let mut s = session(&config);
    drive(&mut s, 12);
    let (state, weights) = (s.state(), block_on(s.save_weights()).unwrap());
    // The state travels as JSON (IndexedDB, and between the CPU and WebGPU modules).
    let json = serde_json::to_string(&state).unwrap();
    let state = serde_json::from_str(&json).unwrap();
    let (train, test) = data(&config);
    let mut again = Session::resume(state, &weights, train, test, &cpu_device()).unwrap();
    assert_eq!((again.steps(), again.progress().steps_in_epoch, again.history().len()), (12, 2, 1));
    assert_eq!(block_on(again.save_weights()).unwrap(), weights);
    assert_eq!(block_on(again.validate(None)).unwrap(), block_on(s.validate(None)).unwrap());
    // Adam's moments start afresh, so the next losses agree only where the weights do: the
    // first step's loss is computed before any update.
    let (a, b) = (block_on(again.step()).unwrap(), block_on(s.step()).unwrap());
    assert_eq!((a.loss, a.steps, a.epoch), (b.loss, b.steps, b.epoch));
}

#[test]
fn a_session_goes_back_to_its_own_copy_keeping_the_settings_made_since() {
    // How the browser leaves a failed GPU: a host copy every few steps, restored on the CPU.
    let config = small();
    let mut s = session(&config);
    drive(&mut s, 12);
    let (state, weights) = (s.state(), block_on(s.save_weights()).unwrap());
    let next = block_on(s.step()).unwrap();
    drive(&mut s, 3);
    s.set_noise_factor(0.3).unwrap();
    s.restore(state.clone(), &weights, &cpu_device()).unwrap();
    assert_eq!((s.steps(), s.progress().steps_in_epoch, s.history().len()), (12, 2, 1));
    assert_eq!(s.config().noise_factor, 0.3, "a setting changed after the copy stays");
    assert_eq!(block_on(s.save_weights()).unwrap(), weights);
    s.set_noise_factor(config.noise_factor).unwrap();
    let again = block_on(s.step()).unwrap();
    assert_eq!((again.loss, again.steps), (next.loss, next.steps), "the same batch and weights as at the copy");

    // A copy of another session is refused, and nothing changes.
    let other = SessionState { config: small().with_seed(8), ..state };
    let err = s.restore(other, &weights, &cpu_device()).unwrap_err();
    assert!(err.to_string().contains("expected a copy of this session"), "{err}");
    assert_eq!(s.steps(), 13);
}

#[test]
fn the_validation_figure_of_a_subset_is_the_full_one_on_its_first_images() {
    let config = small();
    let s = session(&config);
    let (clean, noisy) = s.validation();
    assert_eq!(noisy, &add_noise(clean, 0.5, VALIDATION_NOISE_SEED).unwrap()[..]);
    let sub = block_on(s.validate(Some(16))).unwrap();
    let mut t = Trainer::new(config.trainer(), &cpu_device()).unwrap();
    t.load_weights(&block_on(s.save_weights()).unwrap()).unwrap();
    let direct = block_on(t.evaluate(&noisy[..16 * 784], &clean[..16 * 784])).unwrap();
    assert_eq!(sub, direct, "the session's validation is the trainer's evaluation");
    assert_eq!(sub.count, 16);
    let err = block_on(s.validate(Some(65))).unwrap_err();
    assert_eq!(err.to_string(), "invalid input: validation count: expected 1 to 64, got 65");
}

#[test]
fn training_noise_changes_leave_validation_alone_and_a_batch_change_keeps_the_place() {
    let mut s = session(&small());
    let before = s.validation().1.to_vec();
    s.set_noise_factor(0.9).unwrap();
    assert_eq!(s.validation().1, &before[..], "validation noise is fixed for the session");
    for _ in 0..3 {
        block_on(s.step()).unwrap();
    }
    assert_eq!(s.progress().images_in_epoch, 96);
    s.set_batch_size(64).unwrap();
    let r = block_on(s.step()).unwrap();
    assert_eq!((r.images, r.steps_per_epoch, s.progress().images_in_epoch), (64, 5, 160));
    while !s.epoch_complete() {
        block_on(s.step()).unwrap();
    }
    assert_eq!(s.progress().images_in_epoch, 320, "the epoch ends after every image exactly once");
    assert!(s.set_batch_size(0).is_err() && s.set_noise_factor(f32::NAN).is_err());
    assert_eq!(s.config().batch_size, 64, "a refused change leaves the setting");
}

#[test]
fn loading_weights_starts_the_session_over_and_a_finished_one_refuses_steps() {
    let mut s = session(&small().with_epochs(1));
    drive(&mut s, usize::MAX);
    assert!(s.finished());
    let err = block_on(s.step()).unwrap_err();
    assert!(err.to_string().contains("all 1 done"), "{err}");
    let weights =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("www/pretrained/mnist-dae.safetensors")).unwrap();
    s.load_weights(&weights).unwrap();
    assert_eq!((s.steps(), s.progress().epoch, s.history().len()), (0, 0, 0));
    assert!(block_on(s.validate(None)).unwrap().loss < 0.12);
}

#[test]
fn a_checkpoint_from_another_run_shape_or_a_corrupt_one_is_refused() {
    let config = small();
    let ckpt = scratch("corrupt");
    let mut s = session(&config);
    block_on(s.step()).unwrap();
    checkpoint::save(&s, &ckpt).unwrap();
    std::fs::write(ckpt.join("optimizer.bpk"), b"not burnpack").unwrap();
    let (train, test) = data(&config);
    let err = checkpoint::resume(&ckpt, train.clone(), test.clone(), &cpu_device()).err().expect("refused");
    assert!(err.to_string().contains("expected a burnpack optimiser record"), "{err}");
    let err = checkpoint::resume(&scratch("missing"), train, test, &cpu_device()).err().expect("refused");
    assert!(err.to_string().contains("state.json"), "{err}");
}

#[test]
fn the_cosine_schedule_runs_from_the_learning_rate_to_the_final_one() {
    let c =
        SessionConfig::new().with_schedule(Schedule::Cosine).with_epochs(2).with_train_images(640).with_batch_size(64);
    let last = (c.epochs * c.steps_per_epoch() - 1) as u64;
    assert_eq!(c.learning_rate_at(0), 1e-3);
    assert!((c.learning_rate_at(last) - 1e-5).abs() < 1e-12);
    // Cosine symmetry: lr(k) + lr(last − k) = first + final, and it only ever decreases.
    for k in [1, 5, 9] {
        assert!((c.learning_rate_at(k) + c.learning_rate_at(last - k) - (1e-3 + 1e-5)).abs() < 1e-12);
    }
    assert!((0..last).all(|k| c.learning_rate_at(k + 1) < c.learning_rate_at(k)));
    assert_eq!(SessionConfig::new().learning_rate_at(12_345), 1e-3, "constant by default");
}

#[test]
fn the_anneal_schedule_is_constant_then_falls_linearly_over_its_last_epochs() {
    // 4 epochs of 10 steps, the last 2 annealed: steps 0–19 at 2e-3, 20–39 from 2e-3 to 1e-5.
    let c = SessionConfig::new()
        .with_schedule(Schedule::Anneal)
        .with_learning_rate(2e-3)
        .with_epochs(4)
        .with_anneal_epochs(2)
        .with_train_images(640)
        .with_batch_size(64);
    assert!((0..20).all(|k| c.learning_rate_at(k) == 2e-3), "constant before the tail");
    assert!((c.learning_rate_at(39) - 1e-5).abs() < 1e-15, "ends at the final rate");
    let steps: Vec<f64> = (20..40).map(|k| c.learning_rate_at(k) - c.learning_rate_at(k + 1).max(1e-5)).collect();
    assert!(steps[..19].iter().all(|d| (d - steps[0]).abs() < 1e-15 && *d > 0.0), "a straight line down: {steps:?}");
    // The constant part is the constant schedule's, step for step (so a constant run's
    // checkpoints are this one's up to the tail).
    let constant =
        SessionConfig::new().with_learning_rate(2e-3).with_epochs(4).with_train_images(640).with_batch_size(64);
    assert!((0..20).all(|k| c.learning_rate_at(k) == constant.learning_rate_at(k)));
}

fn png_size(path: &Path) -> (u32, u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (img.width(), img.height())
}

#[test]
fn the_trainer_binary_runs_an_epoch_end_to_end_and_resumes() {
    let out = scratch("cli");
    let bin = env!("CARGO_BIN_EXE_mnist-dae-train");
    let args = ["--train-images", "256", "--val-images", "128", "--epochs", "1", "--seed", "3"];
    let status = Command::new(bin).args(args).arg("--out").arg(&out).status().expect("runs");
    assert!(status.success());

    let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], EpochRecord::CSV_HEADER);
    let row = EpochRecord::parse(lines[1]).expect("a parsable row");
    assert_eq!((row.epoch, row.steps), (1, 4));
    assert!(row.val_loss > 0.0 && row.val_loss < 0.75 && row.psnr_denoised > 0.0, "{row:?}");

    let mut trainer = Trainer::new(TrainerConfig::new(DaeConfig::new()), &cpu_device()).unwrap();
    trainer.load_weights(&std::fs::read(out.join("weights.safetensors")).unwrap()).expect("weights load");
    assert_eq!(png_size(&out.join("loss.png")), (900, 560));
    let (w, h) = png_size(&out.join("digits.png"));
    assert!(w > 10 * 112 && h > 3 * 112, "digits.png is {w} × {h}");

    // A second invocation without --resume refuses to overwrite the run…
    let again = Command::new(bin).args(args).arg("--out").arg(&out).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("pass --resume"));
    // …and with --resume and more epochs it continues it.
    let status = Command::new(bin).args(["--resume", "--epochs", "2"]).arg("--out").arg(&out).status().unwrap();
    assert!(status.success());
    let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
    let rows: Vec<EpochRecord> = csv.lines().skip(1).filter_map(EpochRecord::parse).collect();
    assert_eq!(rows.iter().map(|r| (r.epoch, r.steps)).collect::<Vec<_>>(), vec![(1, 4), (2, 8)]);
    assert_eq!(rows[0], row, "the first epoch's row is kept as it was");
}

#[test]
fn the_shipped_weights_give_the_validation_loss_recorded_for_their_last_epoch() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("www/pretrained");
    let weights = std::fs::read(root.join("mnist-dae.safetensors")).expect("shipped weights");
    let csv = std::fs::read_to_string(root.join("history.csv")).expect("shipped history");
    let last = csv.lines().filter_map(EpochRecord::parse).next_back().expect("a row");
    assert_eq!(last.epoch, 25, "the shipped run is the full 25 epochs");

    // The first 1,000 test images with the validation noise (the same noise the run used on
    // them: the validation stream does not depend on how many images follow).
    let config = SessionConfig::new().with_train_images(1).with_val_images(1000);
    let mut s = session(&config);
    s.load_weights(&weights).unwrap();
    let eval = block_on(s.validate(None)).unwrap();
    assert!(
        (eval.loss - last.val_loss).abs() < 0.005,
        "loss on 1,000 test images {:.4}, recorded for epoch 25 on 10,000: {:.4}",
        eval.loss,
        last.val_loss
    );
    assert!(eval.psnr_denoised > eval.psnr_noisy + 8.0, "{eval:?}");
}

/// Only with `cargo test --release --features vulkan` (not part of `npm test`: it builds wgpu
/// natively). It needs a Vulkan device (a GPU, or Mesa's lavapipe: `apt install
/// mesa-vulkan-drivers`) and fails without one: asking for the feature is asking for the check.
#[cfg(feature = "vulkan")]
#[test]
fn the_trainer_binary_trains_on_vulkan_like_on_the_cpu() {
    let bin = env!("CARGO_BIN_EXE_mnist-dae-train");
    let args = ["--train-images", "256", "--val-images", "128", "--epochs", "1", "--seed", "3", "--batch-size", "32"];
    let mut rows = Vec::new();
    for backend in ["cpu", "vulkan"] {
        let out = scratch(&format!("backend-{backend}"));
        let status = Command::new(bin).args(args).args(["--backend", backend]).arg("--out").arg(&out).status().unwrap();
        assert!(status.success(), "--backend {backend}");
        let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
        rows.push(EpochRecord::parse(csv.lines().nth(1).expect("one row")).expect("a parsable row"));
    }
    let (cpu, vulkan) = (&rows[0], &rows[1]);
    assert_eq!(vulkan.steps, 8);
    // Same host-drawn weights and noise: after 8 steps the two backends differ only by float
    // rounding in their kernels.
    assert!((cpu.val_loss - vulkan.val_loss).abs() < 2e-3, "cpu {cpu:?} vs vulkan {vulkan:?}");
    assert!((cpu.train_loss - vulkan.train_loss).abs() < 2e-3, "cpu {cpu:?} vs vulkan {vulkan:?}");
}
