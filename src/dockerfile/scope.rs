//! ARG and ENV scoping across stages.
