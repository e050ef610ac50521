//! The one error type of this crate: every variant renders as one line naming the file, the field and the problem.

use std::fmt;

/// Everything that can go wrong reading, writing or checking DLRM workloads.
///
/// `Display` is always one line of the form `file: field: problem`, e.g.
/// `trace.npz: offsets: not monotonic at position 17 (offsets[16] = 40 > offsets[17] = 38)`.
#[derive(Debug, thiserror::Error)]
pub enum DlrmError {
    /// The operating system refused an open, read, create or write.
    #[error("{file}: cannot {action}: {source}")]
    Io {
        /// File as the user named it.
        file: String,
        /// What was attempted ("open", "read", "create", "write").
        action: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a readable zip archive, or a member could not be read or written.
    #[error("{file}: {problem}")]
    Archive {
        /// File as the user named it.
        file: String,
        /// What is wrong with the archive.
        problem: String,
    },
    /// A required array is not in the `.npz`.
    #[error("{file}: {array}: missing (archive holds: {present})")]
    Missing {
        /// File as the user named it.
        file: String,
        /// Name of the missing array.
        array: String,
        /// Comma-separated names of the arrays that are present.
        present: String,
    },
    /// An array's `.npy` encoding is malformed or unsupported (header, dtype, shape, size).
    #[error("{file}: {array}: {problem}")]
    Npy {
        /// File as the user named it.
        file: String,
        /// Array name inside the `.npz` (or `array` for a stand-alone `.npy`).
        array: String,
        /// What is wrong.
        problem: String,
    },
    /// Well-formed arrays whose contents break the trace or weight layout.
    #[error("{file}: {field}: {problem}")]
    Invalid {
        /// File (or other source) as the user named it.
        file: String,
        /// Array or parameter at fault.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A feature present in the input that the workbench does not support yet.
    #[error("{file}: {field}: {problem}")]
    Unsupported {
        /// File as the user named it.
        file: String,
        /// Array or parameter at fault.
        field: String,
        /// What is not supported.
        problem: String,
    },
    /// An embedding index outside its table.
    #[error("{file}: indices: table {table}, sample {sample}, position {position} (indices[{flat}]): {index} out of range 0..{rows}")]
    IndexOutOfRange {
        /// File as the user named it.
        file: String,
        /// Table of the bag.
        table: usize,
        /// Sample (batch position) of the bag.
        sample: usize,
        /// Position within the bag.
        position: usize,
        /// Position within the flat `indices` array.
        flat: usize,
        /// The offending index.
        index: i64,
        /// Rows in the table.
        rows: u64,
    },
}

impl DlrmError {
    pub(crate) fn io(file: &str, action: &'static str, source: std::io::Error) -> Self {
        DlrmError::Io {
            file: file.to_string(),
            action,
            source,
        }
    }

    pub(crate) fn npy(file: &str, array: &str, problem: impl fmt::Display) -> Self {
        DlrmError::Npy {
            file: file.to_string(),
            array: array.to_string(),
            problem: problem.to_string(),
        }
    }

    pub(crate) fn invalid(file: &str, field: &str, problem: impl fmt::Display) -> Self {
        DlrmError::Invalid {
            file: file.to_string(),
            field: field.to_string(),
            problem: problem.to_string(),
        }
    }

    pub(crate) fn archive(file: &str, problem: impl fmt::Display) -> Self {
        DlrmError::Archive {
            file: file.to_string(),
            problem: problem.to_string(),
        }
    }
}
