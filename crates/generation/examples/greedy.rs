//! The library API end to end on the bundled GPT-2 checkpoint: compile (calibrate, quantize,
//! commit), generate greedily with the integer model, prove, verify.
//!
//! `cargo run --release -p zkinfer-generation --example greedy -- [HF_DIR] [PROMPT]`

use std::path::PathBuf;

use zkinfer_generation::{compile, generate, prove, verify, CompileOptions, GenerationProof};
use zkinfer_llm::Checkpoint;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/llm/gpt2")
    });
    let prompt = args.next().unwrap_or_else(|| "The cat sat on the".into());

    // 1. The checkpoint: config.json, safetensors, tokenizer.json.
    let ck = Checkpoint::open_hf(&dir)?;
    // 2. Compile for passes of 32 positions generating up to 8 tokens.
    let (pk, report) = compile(&ck, &CompileOptions::new(32, 8), &mut |stage| {
        eprintln!("compile: {stage:?}")
    })?;
    let c: String = pk
        .vk
        .commitment()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("model commitment {c}");
    println!("{report}");
    // 3. Generate with the integer model; each token streams out as it is chosen.
    let ids = ck.tokenizer.encode(&prompt)?;
    let gen = generate(&pk, &ids, 8, &mut |t| eprintln!("token {t}"))?;
    // 4. Prove the generation; the proof file is `bytes`.
    let (proof, _timings) = prove(&pk, &gen)?;
    let bytes = proof.to_bytes();
    println!("proof: {} bytes", bytes.len());
    // 5. Anyone with the verifying key checks it and reads the text.
    let v = verify(&pk.vk, &GenerationProof::from_bytes(&bytes)?)?;
    println!("verified: {:?} -> {:?}", v.prompt_text, v.text);
    Ok(())
}
