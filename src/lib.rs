//! scratchify: read an existing Dockerfile and produce the minimal image it
//! meant, on `scratch`, with every kept and dropped byte explained.
//!
//! The pipeline flows one way (see `DESIGN.md` in the shared design notes):
//!
//! ```text
//! Dockerfile text ─► dockerfile::parse ─► plan::plan ─► store::resolve
//!                 ─► image::assemble ─► image::write/push ─► report::build
//! ```
//!
//! Each stage is a module with its own types; no stage reaches back into an
//! earlier one. [`source`] holds the spans and diagnostics they all share.

pub mod commands;
pub mod dockerfile;
pub mod image;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod shell;
pub mod source;
pub mod store;
pub mod tree;
