//! `zkinfer generate`: greedy generation with the compiled LLM (the integer model the proof
//! checks), streamed as it is decoded, then the proof of the whole generation.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use zkinfer_generation::{generate, prove_with, LlmMeta, PassMode, Stop};

use crate::common::{self, human_bytes, ms_since, Spinner};

/// Options of `zkinfer generate`.
#[derive(Args)]
pub struct GenerateArgs {
    /// The compiled LLM (model.zkm from `compile --hf/--gguf`).
    model: PathBuf,
    /// The prompt text.
    #[arg(long)]
    prompt: String,
    /// The most tokens to generate (stops earlier at end-of-sequence).
    #[arg(long, value_name = "N", default_value_t = 8)]
    max_new_tokens: usize,
    /// The proof file to write.
    #[arg(short = 'o', long = "out", value_name = "PROOF")]
    out: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// No progress spinner.
    #[arg(long)]
    quiet: bool,
    /// Experimental: mask every sumcheck of the walk and of the lookup argument (as
    /// `prove --masked-sumchecks`). A step
    /// toward zero knowledge; the proof is NOT zero-knowledge yet (docs/ZK.md).
    #[arg(long)]
    masked_sumchecks: bool,
}

pub fn run(args: &GenerateArgs) -> Result<()> {
    let t_total = Instant::now();
    let visible = !args.quiet && !args.json;
    let t = Instant::now();
    let pk = {
        let _s = Spinner::start(visible, "loading model");
        common::load_pk(&args.model)?
    };
    let meta = LlmMeta::from_vk(&pk.vk)
        .with_context(|| format!("{} is not a compiled LLM", args.model.display()))?;
    let tok = meta.tokenizer().context("the key's tokenizer")?;
    let prompt = tok
        .encode(&args.prompt)
        .context("cannot tokenize the prompt")?;
    let load_ms = ms_since(t);

    let t = Instant::now();
    let mut shown = String::new();
    let mut fed: Vec<u32> = Vec::new();
    let stream = !args.json;
    if stream {
        print!("{}", args.prompt);
        std::io::stdout().flush().ok();
    }
    let gen = generate(&pk, &prompt, args.max_new_tokens, &mut |id| {
        fed.push(id);
        if stream {
            // Print what the decoded text gained; a token that ends inside a multi-byte
            // character shows once the character is complete.
            if let Ok(text) = tok.decode(&fed) {
                if let Some(new) = text.strip_prefix(shown.as_str()) {
                    if !new.contains('\u{fffd}') {
                        print!("{new}");
                        std::io::stdout().flush().ok();
                        shown = text;
                    }
                }
            }
        }
    })
    .context("generation failed")?;
    let generate_ms = ms_since(t);
    let text = tok
        .decode(&gen.statement.generated)
        .context("cannot decode")?;
    if stream {
        if let Some(rest) = text.strip_prefix(shown.as_str()) {
            print!("{rest}");
        }
        println!();
    }

    let t = Instant::now();
    let (proof, phases) = {
        let _s = Spinner::start(visible, "proving");
        let opts = zkinfer_prover::ProveOptions {
            masked: args.masked_sumchecks,
        };
        prove_with(&pk, &gen, opts).context("proving failed")?
    };
    let prove_ms = ms_since(t);
    let bytes = proof.to_bytes();
    common::write_atomic(&args.out, &bytes)?;
    let total_ms = ms_since(t_total);
    let rss = common::peak_rss_bytes();
    let stop = match gen.stop {
        Stop::Length => "length",
        Stop::Eos => "eos",
    };
    let passes = match &gen.mode {
        PassMode::Incremental => "row-incremental integer run".to_string(),
        PassMode::Whole(why) => format!("one whole integer pass per token: {why}"),
    };
    if args.json {
        let o = json!({
            "prompt": args.prompt,
            "prompt_tokens": gen.statement.prompt,
            "generated_tokens": gen.statement.generated,
            "text": text,
            "stop": stop,
            "integer_passes": passes,
            "proof": args.out.display().to_string(),
            "proof_bytes": bytes.len(),
            "timings_ms": {
                "load": load_ms,
                "generate": generate_ms,
                "prove": prove_ms,
                "total": total_ms,
            },
            "prove_phases_ms": {
                "witness": phases.witness_ms,
                "commit": phases.commit_ms,
                "lookup": phases.lookup_ms,
                "walk": phases.walk_ms,
                "open": phases.open_ms,
                "witness_open": phases.witness_open_ms,
                "weight_open": phases.weight_open_ms,
                "weight_wait": phases.weight_wait_ms,
            },
            "peak_rss_bytes": rss,
        });
        println!("{o}");
    } else {
        println!(
            "{} prompt tokens, {} generated (stopped at {stop}); proof {} written to {}",
            gen.statement.prompt.len(),
            gen.statement.generated.len(),
            human_bytes(bytes.len() as u64),
            args.out.display()
        );
        println!(
            "  load {load_ms:.0} ms, generate {generate_ms:.0} ms ({passes}), prove \
             {prove_ms:.0} ms, total {total_ms:.0} ms"
        );
        if let Some(r) = rss {
            println!("  peak RSS {}", human_bytes(r));
        }
    }
    Ok(())
}
