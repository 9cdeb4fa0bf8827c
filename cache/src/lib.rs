//! Pixgate's caches: the result cache (rendered variants) and the source cache (original
//! bytes), byte-weighted, with TTL and single-flight. No HTTP here.
//!
//! The crate is part of the workspace layout; the caches themselves land with the caching
//! work (see ARCHITECTURE.md, "Status"). Until then every processed request renders afresh.
