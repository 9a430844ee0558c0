//! The plan: what the final image needs, what is dropped, and why.
