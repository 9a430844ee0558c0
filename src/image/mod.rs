//! Deterministic layers, OCI config/manifest/index, writers and registry push.
