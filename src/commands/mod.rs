//! The subcommands of the `scratchify` binary. Each submodule owns its
//! argument struct and a `run` function; `main.rs` only wires them to clap,
//! so everything a command does is reachable from tests through the library.

use std::process::ExitCode;

pub mod audit;
pub mod build;
pub mod explain;
pub mod parse;
pub mod plan;
pub mod resolve;

/// What every command returns: an exit code, or an error that `main` renders
/// as a diagnostic (exit code 1, or 2 for `audit`).
pub type CommandResult = miette::Result<ExitCode>;

/// Read a file, or standard input for `-`, with an error naming the path.
pub fn read_input(path: &std::path::Path) -> miette::Result<String> {
    use miette::IntoDiagnostic;
    use std::io::Read;
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .into_diagnostic()
            .map_err(|e| e.wrap_err("reading standard input"))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path)
            .into_diagnostic()
            .map_err(|e| e.wrap_err(format!("reading {}", path.display())))
    }
}
