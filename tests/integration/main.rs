//! Pixgate's one integration binary. Every test talks HTTP to a real Pixgate process in front of
//! a real origin: a folder, or the in-process S3 server.

mod access;
mod animation;
mod cache;
mod citations;
mod deploy;
mod engine;
mod foundation;
mod hostile;
mod language;
mod negotiation;
mod operators;
mod shared;
mod styles;
mod watermark;

use std::future::Future;

use libtest_mimic::{Arguments, Trial};

/// Run an async test body on its own runtime.
pub fn block<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

fn main() {
    if std::env::var_os(pixgate_tests::EXEC_ENV).is_some() {
        // The child process: be Pixgate. Skip argv[0] and the "pixgate" marker.
        let args = std::env::args_os().skip(1);
        std::process::exit(pixgate::cli::run(args));
    }
    let args = Arguments::from_args();
    let mut trials: Vec<Trial> = Vec::new();
    for (name, f) in foundation::TESTS
        .iter()
        .chain(language::TESTS.iter())
        .chain(engine::TESTS.iter())
        .chain(cache::TESTS.iter())
        .chain(deploy::TESTS.iter())
        .chain(access::TESTS.iter())
        .chain(hostile::TESTS.iter())
        .chain(shared::TESTS.iter())
        .chain(watermark::TESTS.iter())
        .chain(animation::TESTS.iter())
        .chain(citations::TESTS.iter())
        .chain(operators::TESTS.iter())
        .chain(negotiation::TESTS.iter())
        .chain(styles::TESTS.iter())
    {
        let f = *f;
        trials.push(Trial::test(*name, move || {
            f();
            Ok(())
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
