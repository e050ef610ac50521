//! The crate's one error type: a parameter out of range, rendered as one line naming it.

/// A study parameter that cannot be used; `Display` is `param: problem`, e.g.
/// `--rows: 0, must be at least 2`.
#[derive(Debug, thiserror::Error)]
#[error("{param}: {problem}")]
pub struct HashError {
    /// The parameter as the command line spells it (`--rows`, `--hot-share`, ...).
    pub param: String,
    /// What is wrong with its value.
    pub problem: String,
}

impl HashError {
    pub(crate) fn new(param: &str, problem: impl Into<String>) -> HashError {
        HashError {
            param: param.to_string(),
            problem: problem.into(),
        }
    }
}
