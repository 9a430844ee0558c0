//! `scratchify parse`.

use super::CommandResult;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> CommandResult {
    Err(miette::miette!("`scratchify parse` is not implemented yet"))
}
