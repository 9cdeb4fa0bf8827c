//! One handler per route: a typed request in, a [`Response`](crate::respond::Response) value
//! out. Handlers never see the Pingora session; `respond.rs` writes what they return.

mod original;
mod process;
mod saveas;
mod styles;

pub use original::original;
pub use process::process;
pub use saveas::saveas;
pub use styles::style_api;
