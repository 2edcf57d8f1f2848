//! The one error type of the crate: every message names what was expected and what came.

use std::fmt;

/// Why a call was refused. Nothing the model holds has changed when one of these is returned.
#[derive(Debug, Clone, PartialEq)]
pub enum DaeError {
    /// An image batch or a scalar argument was not what the call accepts.
    Input(String),
    /// A weights file could not be used.
    Weights(String),
    /// The backend failed (device lost, readback failed, no WebGPU adapter…).
    Backend(String),
}

impl fmt::Display for DaeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input(m) => write!(f, "invalid input: {m}"),
            Self::Weights(m) => write!(f, "invalid weights: {m}"),
            Self::Backend(m) => write!(f, "backend error: {m}"),
        }
    }
}

impl std::error::Error for DaeError {}
