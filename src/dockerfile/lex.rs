//! Shell-word lexing and `${}` expansion, as BuildKit does it.
