//! `scratchify audit`.

use super::CommandResult;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CommandResult {
    Err(miette::miette!("`scratchify audit` is not implemented yet"))
}
