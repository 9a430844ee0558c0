//! The Dockerfile front end, in the three layers BuildKit has: lines
//! (directives, continuations, comments, heredocs), typed instructions with
//! their flags, and shell-word expansion with ARG/ENV scoping across stages.
//!
//! - [`parse_nodes`] gives layer 1, BuildKit's parse tree ([`ParsedNodes`]),
//!   and [`dump()`] prints it in BuildKit's test-vector format;
//! - [`parse`] gives layer 2, the typed [`Dockerfile`] grouped into stages;
//! - [`lex`] and [`scope`] hold layer 3 (expansion), applied afterwards.
//!
//! Every value carries its byte [`Span`](crate::source::Span) in the
//! original text, and every instruction a [`LineMap`] from its joined text
//! back to the source.
//!
//! # Where this differs from BuildKit, on purpose
//!
//! BuildKit's behaviour is reproduced as its test vectors pin it down; these
//! are the places where it is not, each for inputs no real Dockerfile has:
//!
//! - The input must be UTF-8 and at most [`MAX_SOURCE_BYTES`]; lines are
//!   limited to [`MAX_LINE_BYTES`] as in BuildKit.
//! - Go scans flags and the HEALTHCHECK type word byte by byte (mis-decoding
//!   non-ASCII characters there); they are scanned by character here.
//! - `ONBUILD` may nest at most [`lines::MAX_ONBUILD_NESTING`] levels in the
//!   parse tree and `${...}` at most 256 levels inside heredoc openers, so
//!   recursion stays bounded (BuildKit's typed layer rejects nested ONBUILD
//!   anyway).
//! - Flags BuildKit silently ignores (on STOPSIGNAL, ARG and
//!   `HEALTHCHECK NONE`) are kept ignored but reported as warnings, as is an
//!   ONBUILD trigger that will fail in a child image and a repeated stage
//!   name.
//! - `RUN --mount` values are checked at parse time wherever `${}`
//!   expansion cannot change them (BuildKit checks them after expansion,
//!   at build time); the rest is checked by [`RunMount::resolve`].
//! - A Dockerfile without any FROM is an error here (BuildKit fails later,
//!   when building).
//! - Quoting for the dump uses Unicode 16 tables for "printable"; Go's may
//!   be a version older.

// Errors are `SourceDiagnostic`s, the crate-wide diagnostic type; they are
// large but only built once, on the failure path.
#![allow(clippy::result_large_err)]

pub mod lex;
pub mod scope;

mod byte_masks;
mod direct;
pub mod directives;
pub mod dump;
pub mod duration;
pub mod flags;
pub mod go_text;
pub mod heredoc;
pub mod instructions;
pub mod json;
pub mod line_map;
pub mod line_parsers;
pub mod lines;
mod newlines;
pub mod nodes;
pub mod run_flags;
pub mod short_vec;
pub mod stages;

pub use directives::{Directive, DirectiveMatch, detect_syntax, parse_directive};
pub use dump::dump;
pub use instructions::{
    AddInstruction, ArgDecl, ArgInstruction, CmdInstruction, CommandLine, CopyInstruction,
    DurationFlag, EntrypointInstruction, EnvInstruction, ExposeInstruction, FromInstruction,
    HealthTest, HealthcheckInstruction, InlineSource, Instruction, InstructionError,
    InstructionSource, KeyValue, LabelInstruction, MaintainerInstruction, OnbuildInstruction,
    RunInstruction, ShellInstruction, ShellText, StopSignalInstruction, UserInstruction,
    VolumeInstruction, Word, WorkdirInstruction, parse_instruction,
};
pub use line_map::LineMap;
pub use lines::{MAX_LINE_BYTES, MAX_SOURCE_BYTES, count_instruction_lines, parse_nodes};
pub use nodes::{ArgNode, Heredoc, Keyword, Node, NodeFlag, ParsedNodes, Warning};
pub use run_flags::{
    CacheSharing, Mount, MountField, MountType, NetworkMode, RunDevice, RunMount, SecurityMode,
};
pub use stages::{Dockerfile, Stage, from_nodes, parse};
