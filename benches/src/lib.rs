//! Pixgate's benchmarks live in `benches/` (criterion) and `load/` (load scripts against a
//! release binary); results and the commands that produced them are in `RESULTS.md`.
