//! Pixgate's image work: the `x-oss-process` language (`spec`), codecs (`codec`), the pixel
//! actions (`op`) on an in-memory `frame::Frame`, and the `pipeline` that runs a chain on
//! source bytes. Synchronous and CPU-only: no I/O, no async. See ARCHITECTURE.md.

pub mod codec;
pub mod frame;
pub mod op;
pub mod pipeline;
pub mod spec;
pub mod text;
