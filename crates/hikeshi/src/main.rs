//! The `hikeshi` binary: command-line verbs wiring the crates together.

mod bench;
mod cli;
mod config;
mod hunt;
mod import;
mod live_cmd;
mod loadgen;
mod rules_load;
mod users;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hikeshi: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hikeshi: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
