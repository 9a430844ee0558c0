//! The Dockerfile front end, in the three layers BuildKit has: lines
//! (directives, continuations, comments, heredocs), typed instructions with
//! their flags, and shell-word expansion with ARG/ENV scoping across stages.

pub mod lex;
pub mod scope;
