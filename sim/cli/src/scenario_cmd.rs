//! `pifs scenario`: multi-model real-time scenarios (XRBench-style) on Pond and PIFS-Rec.

use crate::{bad_input, Failure};
use anyhow::anyhow;
use clap::Args;

#[derive(Args)]
pub struct ScenarioArgs {}

pub fn run(_a: ScenarioArgs) -> Result<(), Failure> {
    Err(bad_input(anyhow!("pifs scenario: not built yet")))
}
