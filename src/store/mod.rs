//! Package universes behind one trait: resolution, verification, download
//! and unpacking of store paths.

pub mod slim;
