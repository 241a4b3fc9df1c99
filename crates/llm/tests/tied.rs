//! A tied embedding and LM head (GPT-2, Gemma) is one constant of the quantized graph — the
//! weights are committed once — while an untied checkpoint (the Llama fixture) keeps two.

use std::path::Path;

use zkinfer_llm::{build, pass_inputs, Checkpoint};
use zkinfer_model::quant::graph::QTensorKind;
use zkinfer_model::QuantConfig;

/// Quantized constants that come from the float embedding table, and whether the config ties.
fn embedding_constants(name: &str) -> (usize, bool) {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/llm")
        .join(name);
    let ck = Checkpoint::open_hf(&d).expect("open");
    let lg = build(&ck.config, ck.weights.as_ref(), 8, 2).expect("build");
    let seq: Vec<u32> = (1..=8).collect();
    let sample = pass_inputs(&seq, 6, 2, 8).expect("inputs");
    let q =
        zkinfer_model::quantize(&lg.graph, &[sample], &QuantConfig::default()).expect("quantize");
    // The embedding table: the float constant whose first dimension is the vocabulary.
    let (vocab, d) = (ck.config.vocab, ck.config.hidden);
    let table: Vec<usize> = lg
        .graph
        .tensors
        .iter()
        .enumerate()
        .filter(|(_, t)| t.shape == [vocab, d])
        .map(|(i, _)| i)
        .collect();
    let n = q
        .tensors
        .iter()
        .filter(|t| matches!(t.kind, QTensorKind::Const(_)))
        .filter(|t| t.float_id.is_some_and(|f| table.contains(&f.0)))
        .count();
    (n, ck.config.tied)
}

#[test]
fn tied_table_is_one_constant() {
    for name in ["gpt2", "gemma3"] {
        assert_eq!(embedding_constants(name), (1, true), "{name}");
    }
}

#[test]
fn untied_tables_stay_two_constants() {
    assert_eq!(embedding_constants("llama"), (2, false));
}
