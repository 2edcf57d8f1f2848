//! The one error type of the crate: every message names what was expected and what came, on one
//! line, and every error has a stable [`ErrorKind`] that crosses to JavaScript as `error.code`.

use std::fmt;

/// What kind of failure an error is: stable names a program can test (`error.code` in
/// JavaScript, [`ErrorKind::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An argument was not what the call accepts (type, size, range).
    InvalidInput,
    /// A weights file or a saved training could not be used.
    InvalidWeights,
    /// The backend failed (readback, shader, out of memory, no adapter…).
    Backend,
    /// The object was freed (`free()`); it refuses every call from then on.
    Freed,
}

impl ErrorKind {
    /// The stable name: `"invalid_input"`, `"invalid_weights"`, `"backend"` or `"freed"`.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::InvalidWeights => "invalid_weights",
            Self::Backend => "backend",
            Self::Freed => "freed",
        }
    }
}

/// Why a call was refused. Nothing the model holds has changed when one of these is returned.
#[derive(Debug, Clone, PartialEq)]
pub enum DaeError {
    /// An image batch or a scalar argument was not what the call accepts.
    Input(String),
    /// A weights file could not be used.
    Weights(String),
    /// The backend failed (device lost, readback failed, no WebGPU adapter…).
    Backend(String),
    /// A method was called on an object after `free()`.
    Freed(String),
}

impl DaeError {
    /// The error's stable kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Input(_) => ErrorKind::InvalidInput,
            Self::Weights(_) => ErrorKind::InvalidWeights,
            Self::Backend(_) => ErrorKind::Backend,
            Self::Freed(_) => ErrorKind::Freed,
        }
    }

    /// The same error about a part of `what`: "`what`: message", kind unchanged (the message
    /// carries no second "invalid input:" prefix).
    pub fn within(self, what: &str) -> Self {
        match self {
            Self::Input(m) => Self::Input(format!("{what}: {m}")),
            Self::Weights(m) => Self::Weights(format!("{what}: {m}")),
            Self::Backend(m) => Self::Backend(format!("{what}: {m}")),
            Self::Freed(m) => Self::Freed(format!("{what}: {m}")),
        }
    }

    /// A backend failure while doing `what`, from a library error whose `Debug` form may span
    /// many lines ("Caused by: …", "Backtrace: …"): only its first meaningful line is kept.
    pub fn backend(what: &str, error: impl fmt::Debug) -> Self {
        Self::Backend(format!("{what}: {}", first_line(&format!("{error:?}"))))
    }
}

/// The first non-empty line of `text`, trimmed, without trailing ':'.
pub fn first_line(text: &str) -> String {
    text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("(no message)").trim_end_matches(':').to_string()
}

impl fmt::Display for DaeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Input(m) => write!(f, "invalid input: {m}"),
            Self::Weights(m) => write!(f, "invalid weights: {m}"),
            Self::Backend(m) => write!(f, "backend error: {m}"),
            Self::Freed(m) => write!(f, "freed: {m}"),
        }
    }
}

impl std::error::Error for DaeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_errors_keep_one_line() {
        let e = DaeError::backend("reading the loss", "Device poisoned\nCaused by:\n  x\nBacktrace: none");
        assert_eq!(
            e.to_string(),
            "backend error: reading the loss: \"Device poisoned\\nCaused by:\\n  x\\nBacktrace: none\""
        );
        struct Multi;
        impl fmt::Debug for Multi {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\n  Device poisoned:\nCaused by:\n  lost\nBacktrace: No backtrace available")
            }
        }
        let e = DaeError::backend("reading the loss", Multi);
        assert_eq!(e.to_string(), "backend error: reading the loss: Device poisoned");
        assert_eq!(e.kind().code(), "backend");
        assert!(!e.to_string().contains('\n'));
    }
}
