//! The `hikeshi` binary: command-line verbs wiring the crates together.

mod backup_cmd;
mod bench;
mod bench_response;
mod cli;
mod config;
mod csaf_check;
mod http_fetch;
mod hunt;
mod import;
mod live_cmd;
mod loadgen;
mod response_cmd;
mod rules_load;
mod serve;
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
        // `hikeshi hunt … | head`: the reader has gone, which is not an error worth a message.
        // 141 is what a shell reports for a process ended by SIGPIPE.
        Err(e) if broken_pipe(&e) => std::process::ExitCode::from(141),
        Err(e) => {
            eprintln!("hikeshi: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
