//! The `takedown` binary: parse the command line, start logging, hand over to [`takedown::command`].
//!
//! Everything else lives in the library so that the integration tests and fuzz targets can reach it.

use std::process::ExitCode;

use clap::Parser;

/// Every heap block is wiped when freed, so transient copies of uploads, form text and tokens
/// inside hyper, rustls, multer and reqwest do not linger in freed memory. Its cost is measured
/// by `bench/allocator.sh`.
#[global_allocator]
static ALLOCATOR: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

fn main() -> ExitCode {
    let cli = takedown::cli::Cli::parse();
    takedown::telemetry::init();
    takedown::command::run(cli)
}
