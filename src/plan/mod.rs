//! The plan: what the final image needs, what is dropped, and why.
//!
//! `plan` interprets the stages of a parsed Dockerfile into the IR of
//! [`ir`]: package requests, file operations, accounts, the image config and
//! the dropped items, each with its provenance. It does no I/O: the data it
//! needs (base image mappings, build-only classifications) is compiled in
//! from `grammar/`.

pub mod bases;
pub mod classify;
pub mod ir;
