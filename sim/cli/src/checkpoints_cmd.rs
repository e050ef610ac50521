//! `pifs checkpoints`: the incremental-checkpoint study (Check-N-Run): full vs incremental vs quantized checkpoint bytes per interval.

use crate::{bad_input, Failure};
use anyhow::anyhow;
use clap::Args;

#[derive(Args)]
pub struct CheckpointsArgs {}

pub fn run(_a: CheckpointsArgs) -> Result<(), Failure> {
    Err(bad_input(anyhow!("pifs checkpoints: not built yet")))
}
