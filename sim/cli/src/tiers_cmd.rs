//! `pifs tiers`: memory tiers and power: DRAM-only against a tiered pool (DRAM cache in front of SCM or NAND), energy and average power against latency.

use crate::{bad_input, Failure};
use anyhow::anyhow;
use clap::Args;

#[derive(Args)]
pub struct TiersArgs {}

pub fn run(_a: TiersArgs) -> Result<(), Failure> {
    Err(bad_input(anyhow!("pifs tiers: not built yet")))
}
