//! `pifs hash`: the ID-hashing study: collisions, locality, buffer hit rate and device load of hashed, frequency-ranked and learned ID mappings.

use crate::{bad_input, Failure};
use anyhow::anyhow;
use clap::Args;

#[derive(Args)]
pub struct HashArgs {}

pub fn run(_a: HashArgs) -> Result<(), Failure> {
    Err(bad_input(anyhow!("pifs hash: not built yet")))
}
