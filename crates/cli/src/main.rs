//! `zkinfer`: command-line front end.
//!
//! For now it offers `demo`, which commits, proves and verifies statements with the
//! proof-system core and prints timings. Model commands (`compile`, `run`, `prove`, `verify`,
//! `inspect`) arrive with the ONNX pipeline.

mod demo;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "zkinfer",
    version,
    about = "Succinct zero-knowledge proofs of ML inference"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prove and verify a demonstration statement with the proof-system core; print timings.
    Demo(demo::DemoArgs),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Demo(args) => demo::run(&args),
    }
}
