//! Native checkpoints: a session saved to a directory and continued bit for bit, Adam's moments
//! included (the browser keeps [`SessionState`] and the weights instead).

use std::path::Path;

use burn::prelude::*;

use super::{Session, SessionConfig, SessionState};
use crate::data::Mnist;
use crate::error::DaeError;
use crate::train::TrainState;

/// File names inside a checkpoint directory.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
pub const OPTIMIZER_FILE: &str = "optimizer.bpk";
pub const STATE_FILE: &str = "state.json";

/// What a checkpoint's `state.json` holds.
#[derive(Config, Debug)]
pub struct CheckpointState {
    pub session: SessionState,
    /// Ids of the parameters in the weights' file order (keys of the optimiser state).
    pub param_ids: Vec<u64>,
}

fn read_state(dir: &Path) -> Result<CheckpointState, DaeError> {
    use burn::config::Config as _;
    let path = dir.join(STATE_FILE);
    CheckpointState::load(&path)
        .map_err(|e| DaeError::Input(format!("{}: expected a checkpoint's state.json, got {e:?}", path.display())))
}

/// The session config saved in checkpoint directory `dir`.
pub fn config(dir: &Path) -> Result<SessionConfig, DaeError> {
    Ok(read_state(dir)?.session.config)
}

/// Writes a checkpoint of `session` to `dir` (created if missing): the weights, the optimiser
/// state and `state.json`. Files are written beside and renamed over the old ones, so an
/// interrupted save leaves the previous checkpoint readable.
pub fn save(session: &Session, dir: &Path) -> Result<(), DaeError> {
    let io = |what: &Path, e: std::io::Error| DaeError::Backend(format!("{}: writing failed: {e}", what.display()));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let state = session.trainer().checkpoint()?;
    let json = CheckpointState::new(session.state(), state.param_ids);
    let files =
        [(WEIGHTS_FILE, state.weights), (OPTIMIZER_FILE, state.optimizer), (STATE_FILE, json.to_string().into_bytes())];
    for (name, bytes) in &files {
        let tmp = dir.join(format!("{name}.tmp"));
        std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
    }
    // state.json last: it names the step the other two files belong to.
    for (name, _) in &files {
        let (tmp, path) = (dir.join(format!("{name}.tmp")), dir.join(name));
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

/// Continues the session saved in checkpoint directory `dir`; `train` and `test` must hold the
/// images its config names ([`config`]).
pub fn resume(dir: &Path, train: Mnist, test: Mnist, device: &Device) -> Result<Session, DaeError> {
    let saved = read_state(dir)?;
    let read = |name: &str| {
        std::fs::read(dir.join(name))
            .map_err(|e| DaeError::Input(format!("{}: expected a checkpoint file, got {e}", dir.join(name).display())))
    };
    let train_state = TrainState {
        weights: read(WEIGHTS_FILE)?,
        optimizer: read(OPTIMIZER_FILE)?,
        param_ids: saved.param_ids.clone(),
        steps: saved.session.steps,
    };
    let mut session = Session::resume(saved.session, &train_state.weights, train, test, device)?;
    session.trainer_mut().restore(&train_state)?;
    Ok(session)
}
