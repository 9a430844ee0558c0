//! The POSIX-sh subset found in RUN instructions, and the recognisers that
//! turn commands into effects (package installs, accounts, file operations).
