//! The `takedown` binary: parse the command line, start logging, hand over to [`takedown::command`].
//!
//! Everything else lives in the library so that the integration tests and fuzz targets can reach it.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = takedown::cli::Cli::parse();
    takedown::telemetry::init();
    takedown::command::run(cli)
}
