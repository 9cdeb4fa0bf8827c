//! Pixgate: an image proxy that speaks Alibaba Cloud OSS Image Processing in front of an
//! existing object store. This crate is the gateway: the only one that knows HTTP, Pingora,
//! S3, XML, signatures, Prometheus and configuration files. See ARCHITECTURE.md.

pub mod access;
pub mod access_log;
pub mod address;
pub mod admin;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod fonts;
mod handlers;
mod log_writer;
mod logging;
pub mod metrics;
pub mod mime;
pub mod negotiate;
pub mod origin;
mod reload;
pub mod render;
pub mod respond;
pub mod route;
pub mod service;
pub mod shared;
mod shutdown;
pub mod state;
pub mod styles;
pub mod worker;

/// The binary's entry point.
pub fn main_entry() -> ! {
    std::process::exit(cli::run(std::env::args_os()))
}
