//! Incremental checkpoints (Check-N-Run): an online-training row-update stream through the switch, modified-row bitmaps per table, full vs incremental vs quantized checkpoint bytes and restore error.
//!
//! [`study::run`] trains on a batch stream ([`study::Batch`]), sends every updated row as M2S
//! RwD MemWr messages through the project's flit packer and decoder ([`wire`]), marks the rows
//! the switch sees in per-table bitmaps ([`tracker`]) and, every interval, accounts for full,
//! incremental (consecutive and one-shot) and quantized one-shot checkpoints ([`quant`]) with
//! the restore error of the quantized rows.

pub mod quant;
pub mod study;
pub mod tracker;
pub mod wire;

pub use study::{run, Batch, Report, StudyConfig, StudyError};
