//! `zkinfer`: command-line front end.
//!
//! * `compile MODEL.onnx [--calibration CAL.json] -o DIR` — quantize (calibrated), commit the
//!   weights, write `DIR/model.zkm` (proving key) and `DIR/model.vk` (verifying key); prints
//!   the model commitment and a fidelity report.
//! * `compile --hf DIR | --gguf FILE [--context L] [--new-tokens N] -o DIR` — the same for an
//!   LLM checkpoint: a key proving greedy generation of up to N tokens in a pass of L positions.
//! * `generate DIR/model.zkm --prompt TEXT --max-new-tokens N -o PROOF` — greedy generation,
//!   streamed, then its proof.
//! * `run DIR/model.zkm --input IN.json [-o OUT.json]` — checked integer inference.
//! * `prove DIR/model.zkm --input IN.json -o PROOF` — inference and its proof.
//! * `verify PROOF --vk DIR/model.vk` — exit status 0 iff the proof is valid (a generation
//!   proof prints the verified prompt and text).
//! * `inspect FILE` — summary of an ONNX model, an LLM checkpoint (HF directory or GGUF), `.zkm`,
//!   `.vk` or proof.
//! * `demo` — the proof-system core on a synthetic statement, with timings.
//!
//! Every command takes `--json` (exactly one JSON object on stdout). Errors go to stderr with
//! their context chain and a non-zero exit status; outputs are written to a temporary file and
//! renamed, so a failed command never leaves a half-written file.

mod common;
mod compile;
mod compile_llm;
mod demo;
mod generate;
mod infer;
mod inspect;
mod prove;
mod verify;

use std::process::ExitCode;
use std::sync::Mutex;

use clap::{Parser, Subcommand};

/// mimalloc keeps freed pages for reuse: proving allocates and drops many short-lived tables,
/// and glibc's allocator hands each large one back to the kernel, so the next one page-faults
/// afresh (~10 % of a lenet_5 proof went to page faults and their locks).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Quantize and commit an ONNX model: writes DIR/model.zkm and DIR/model.vk.
    Compile(compile::CompileArgs),
    /// Generate text greedily with a compiled LLM and prove the generation.
    Generate(generate::GenerateArgs),
    /// Run the quantized model on an input (integer inference, checked).
    Run(infer::RunArgs),
    /// Run the quantized model on an input and prove the inference.
    Prove(prove::ProveArgs),
    /// Verify a proof against a verifying key (exit status 0 iff valid).
    Verify(verify::VerifyArgs),
    /// Summarize an ONNX model, an LLM checkpoint, a compiled model, a verifying key or a proof.
    Inspect(inspect::InspectArgs),
    /// Prove and verify a demonstration statement with the proof-system core; print timings.
    Demo(demo::DemoArgs),
}

/// The message of the last panic (printed only if it reaches `main`: libraries may catch
/// panics of their dependencies and turn them into errors).
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

fn dispatch(command: Command) -> ExitCode {
    let res = match command {
        Command::Compile(a) => compile::run(&a),
        Command::Generate(a) => generate::run(&a),
        Command::Run(a) => infer::run(&a),
        Command::Prove(a) => prove::run(&a),
        Command::Verify(a) => return verify::run(&a),
        Command::Inspect(a) => inspect::run(&a),
        Command::Demo(a) => demo::run(&a),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether a panic message is `print!`'s on a closed stdout pipe. Rust ignores SIGPIPE, so a
/// write to a pipe whose reader exited fails with EPIPE and `println!` panics; that is the
/// reader's choice, not a bug. (Matching the message keeps `unsafe` signal handling out.)
fn is_closed_stdout(panic_message: &str) -> bool {
    panic_message.contains("failed printing to stdout")
        && (panic_message.contains("Broken pipe") || panic_message.contains("os error 32"))
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut p) = LAST_PANIC.lock() {
            *p = Some(info.to_string());
        }
    }));
    std::panic::catch_unwind(|| dispatch(command)).unwrap_or_else(|_| {
        let msg = LAST_PANIC
            .lock()
            .ok()
            .and_then(|mut p| p.take())
            .unwrap_or_else(|| "unknown panic".into());
        if is_closed_stdout(&msg) {
            // The reader of our output went away (`zkinfer inspect … | head`): end quietly
            // with the status a shell reports for SIGPIPE, as C tools do.
            return ExitCode::from(141);
        }
        eprintln!("error: internal error (a bug in zkinfer, please report it): {msg}");
        ExitCode::FAILURE
    })
}
