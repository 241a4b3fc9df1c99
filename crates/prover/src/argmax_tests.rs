//! Greedy token choice (ArgMax) proven over long rows: honest proofs, ties, tampered tokens.

use zkinfer_model::graph::{FloatGraph, FloatTensorKind};
use zkinfer_model::ops::FloatOp;

use crate::tests::quantize_and_compile;
use crate::{prove, prove_trace, verify, ModelProof};

/// `x [3, 8] · W [8, 300] → logits [3, 300] → argmax [3]`: rows far above the 64 elements
/// of the max protocol.
fn logits_graph() -> (FloatGraph, Vec<Vec<Vec<f32>>>) {
    let (rows, k, v) = (3, 8, 300);
    let mut g = FloatGraph::default();
    let x = g.add_tensor("x", vec![rows, k], FloatTensorKind::Input);
    let w: Vec<f32> = (0..k * v)
        .map(|i| (((i * 7919) % 263) as f32 / 131.0) - 1.0)
        .collect();
    let w = g.add_tensor("w", vec![k, v], FloatTensorKind::Const(w));
    let logits = g.add_node(
        "lm_head",
        FloatOp::Einsum {
            expr: "ok,kv->ov".into(),
        },
        vec![x, w],
        vec![rows, v],
    );
    let t = g.add_node("argmax", FloatOp::ArgMax, vec![logits], vec![rows]);
    g.inputs = vec![x];
    g.outputs = vec![t];
    let xs: Vec<f32> = (0..rows * k)
        .map(|i| ((i % 5) as f32 - 2.0) / 2.0)
        .collect();
    (g, vec![vec![xs]])
}

#[test]
fn argmax_over_long_rows_proves_and_verifies() {
    let (g, samples) = logits_graph();
    let (pk, inputs) = quantize_and_compile(&g, &samples);
    let proof = prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &proof).expect("verify");
    let tr = zkinfer_model::quant::run::run_quantized(&pk.graph, &inputs).expect("run");
    let logits = &tr.values[pk.graph.nodes[pk.graph.nodes.len() - 2].output.0];
    for (o, &t) in proof.outputs[0].iter().enumerate() {
        let row = &logits[o * 300..(o + 1) * 300];
        let m = *row.iter().max().expect("row");
        let first = row.iter().position(|&v| v == m).expect("max");
        assert_eq!(t as usize, first, "row {o}");
    }
    let back = ModelProof::from_bytes(&proof.to_bytes()).expect("decode");
    verify(&pk.vk, &back).expect("verify decoded");
}

#[test]
fn changed_or_tie_broken_tokens_are_rejected() {
    let (g, samples) = logits_graph();
    let (pk, inputs) = quantize_and_compile(&g, &samples);
    let proof = prove(&pk, &inputs).expect("prove");
    let tr = zkinfer_model::quant::run::run_quantized(&pk.graph, &inputs).expect("run");
    let logits = &tr.values[pk.graph.nodes[pk.graph.nodes.len() - 2].output.0];
    for o in 0..3 {
        let row = &logits[o * 300..(o + 1) * 300];
        let t = proof.outputs[0][o] as usize;
        // Every other index: second best, a tied later maximum, out of range, negative.
        let mut order: Vec<usize> = (0..300).filter(|&k| k != t).collect();
        order.sort_by_key(|&k| std::cmp::Reverse(row[k]));
        for alt in order
            .iter()
            .take(3)
            .map(|&k| k as i64)
            .chain([300, -1, 1 << 40])
        {
            let mut bad = proof.clone();
            bad.outputs[0][o] = alt;
            assert!(
                verify(&pk.vk, &bad).is_err(),
                "row {o}: token {alt} accepted"
            );
        }
    }
    // A prover that emits the second-best token (a forged trace) cannot prove it.
    let mut forged = tr.clone();
    let out = pk.graph.outputs[0].0;
    let row = &logits[..300];
    let t = forged.values[out][0] as usize;
    let second = (0..300)
        .filter(|&k| k != t)
        .max_by_key(|&k| (row[k], std::cmp::Reverse(k)))
        .expect("second");
    forged.values[out][0] = second as i64;
    assert!(prove_trace(&pk, &forged).is_err());
}

#[test]
fn ties_go_to_the_lowest_index() {
    // Logits = the input itself: rows with repeated maxima.
    let mut g = FloatGraph::default();
    let x = g.add_tensor("x", vec![2, 70], FloatTensorKind::Input);
    let t = g.add_node("argmax", FloatOp::ArgMax, vec![x], vec![2]);
    g.inputs = vec![x];
    g.outputs = vec![t];
    let mut xs = vec![0.0f32; 140];
    xs[5] = 1.0;
    xs[40] = 1.0;
    xs[70 + 69] = 0.5;
    xs[70 + 3] = 0.5;
    let (pk, inputs) = quantize_and_compile(&g, &[vec![xs]]);
    let proof = prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &proof).expect("verify");
    assert_eq!(proof.outputs[0], vec![5, 3]);
    for (o, alt) in [(0, 40), (1, 69)] {
        let mut bad = proof.clone();
        bad.outputs[0][o] = alt;
        assert!(verify(&pk.vk, &bad).is_err(), "later tie {alt} accepted");
    }
}

#[test]
fn argmax_must_be_a_public_output() {
    let (mut g, samples) = logits_graph();
    // Feed the indices into another node: no longer provable from the statement alone.
    let t = g.outputs[0];
    let y = g.add_node(
        "after",
        FloatOp::Unary(zkinfer_model::ops::UnaryFn::Relu),
        vec![t],
        vec![3],
    );
    g.outputs = vec![y];
    let q = zkinfer_model::quant::quantize(&g, &samples, &zkinfer_model::QuantConfig::default())
        .expect("quantize");
    let Err(err) = crate::compile(q) else {
        panic!("an argmax feeding another node must be refused");
    };
    assert!(err.to_string().contains("argmax"), "{err}");
}

/// A graph reading `rows` rows of a `[vocab, d]` constant table (entries spread over
/// `[-1, 1)` with `modulus` distinct values) at public ids: the graph (no inputs or outputs
/// set), the ids input, the table, the gathered rows and the table's values.
pub(crate) fn embedding(
    vocab: usize,
    d: usize,
    rows: usize,
    modulus: usize,
) -> (
    FloatGraph,
    zkinfer_model::TensorId,
    zkinfer_model::TensorId,
    zkinfer_model::TensorId,
    Vec<f32>,
) {
    use zkinfer_model::kernels::indexed::IndexKind;
    let mut g = FloatGraph::default();
    let ids = g.add_tensor("ids", vec![rows], FloatTensorKind::Input);
    let table: Vec<f32> = (0..vocab * d)
        .map(|i| ((i * 7919 % modulus) as f32 / (modulus / 2) as f32) - 1.0)
        .collect();
    let t = g.add_tensor("wte", vec![vocab, d], FloatTensorKind::Const(table.clone()));
    let e = g.add_node(
        "embed",
        FloatOp::IndexedMove {
            kind: IndexKind::Gather { axis: 0 },
        },
        vec![t, ids],
        vec![rows, d],
    );
    (g, ids, t, e, table)
}

/// A 40,000-row embedding table indexed by public token ids at 16-bit activations: ids above
/// 2^15 are exact integers of the index width, never scaled or clamped into the activation
/// range; another id is another statement.
#[test]
fn embedding_ids_beyond_the_activation_range_are_exact() {
    let (vocab, d) = (40_000, 4);
    let (mut g, ids, _, e, table) = embedding(vocab, d, 3, 1009);
    g.inputs = vec![ids];
    g.outputs = vec![e];
    let x = vec![39_999.0, 7.0, 32_768.0];
    let (pk, inputs) = quantize_and_compile(&g, &[vec![x.clone()]]);
    let qi = pk.graph.inputs[0];
    assert_eq!(pk.graph.tensors[qi.0].frac, 0);
    assert_eq!(inputs[0], vec![39_999, 7, 32_768]);
    let proof = prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &proof).expect("verify");
    let out = pk.graph.dequantize(pk.graph.outputs[0], &proof.outputs[0]);
    for (r, &id) in x.iter().enumerate() {
        for c in 0..d {
            let want = table[id as usize * d + c];
            assert!((out[r * d + c] - want).abs() < 1e-2, "row {r} col {c}");
        }
    }
    let mut bad = proof.clone();
    bad.inputs[0][0] = 39_998;
    assert!(verify(&pk.vk, &bad).is_err(), "another id accepted");
    let mut bad = proof.clone();
    bad.inputs[0][0] = 40_000;
    assert!(
        verify(&pk.vk, &bad).is_err(),
        "an id past the table accepted"
    );
}

/// Two lookups into one table (a token embedding read twice, as prompt and answer): each is
/// settled on the rows it reads (`movement::gather_rows`: the row values at a point, then one
/// PCS claim per row), never by a sumcheck over the table. Repeated ids read the same row.
/// Another id, another output, a flipped proof byte, or another table (the wrong model) is
/// rejected.
#[test]
fn two_lookups_into_one_table_settle_on_their_rows() {
    use zkinfer_model::kernels::indexed::IndexKind;
    let (vocab, d) = (3_000, 8);
    let mut g = FloatGraph::default();
    let a = g.add_tensor("ids_a", vec![4], FloatTensorKind::Input);
    let b = g.add_tensor("ids_b", vec![2], FloatTensorKind::Input);
    let table: Vec<f32> = (0..vocab * d)
        .map(|i| ((i * 7919 % 1013) as f32 / 506.0) - 1.0)
        .collect();
    let t = g.add_tensor("wte", vec![vocab, d], FloatTensorKind::Const(table.clone()));
    let gather = IndexKind::Gather { axis: 0 };
    let ea = g.add_node(
        "embed_a",
        FloatOp::IndexedMove { kind: gather },
        vec![t, a],
        vec![4, d],
    );
    let eb = g.add_node(
        "embed_b",
        FloatOp::IndexedMove { kind: gather },
        vec![t, b],
        vec![2, d],
    );
    g.inputs = vec![a, b];
    g.outputs = vec![ea, eb];
    let (xa, xb) = (vec![2_999.0, 5.0, 5.0, 1_234.0], vec![5.0, 0.0]);
    let (pk, inputs) = quantize_and_compile(&g, &[vec![xa.clone(), xb.clone()]]);
    let proof = prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &proof).expect("verify");
    for (k, x) in [&xa, &xb].into_iter().enumerate() {
        let out = pk.graph.dequantize(pk.graph.outputs[k], &proof.outputs[k]);
        for (r, &id) in x.iter().enumerate() {
            for c in 0..d {
                let want = table[id as usize * d + c];
                assert!((out[r * d + c] - want).abs() < 1e-2, "output {k} row {r}");
            }
        }
    }
    for (k, i) in [(0, 5), (1, 3)] {
        let mut bad = proof.clone();
        bad.outputs[k][i] += 1;
        assert!(verify(&pk.vk, &bad).is_err(), "changed output {k} accepted");
    }
    let mut bad = proof.clone();
    bad.inputs[1][1] = 1;
    assert!(verify(&pk.vk, &bad).is_err(), "another id accepted");
    crate::tests::tamper_statement_and_bytes(&pk.vk, &proof, 160);
    // The same graph with one entry of a row read (id 1234) changed: another model.
    let mut g2 = g.clone();
    let mut table2 = table;
    table2[1_234 * d + 3] += 0.5;
    g2.tensors[t.0].kind = FloatTensorKind::Const(table2);
    let (pk2, _) = quantize_and_compile(&g2, &[vec![xa, xb]]);
    assert!(
        verify(&pk2.vk, &proof).is_err(),
        "a proof for another table accepted"
    );
}
