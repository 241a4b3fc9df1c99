//! End-to-end tests on ONNX models: the bundled example and peer-corpus models.

use std::path::{Path, PathBuf};

use zkinfer_field::p3_field::PrimeCharacteristicRing;
use zkinfer_model::{quant, QuantConfig};

use crate::{compile, prove, verify, ModelProof, ProvingKey};

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn peer(name: &str) -> Option<PathBuf> {
    let p = root().join("../shared/peer-models/ezkl").join(name);
    p.join("network.onnx").exists().then_some(p)
}

/// Loads, quantizes (calibrated on its own input), compiles; returns the key and the
/// quantized inputs.
pub(crate) fn setup(dir: &Path) -> (ProvingKey, Vec<Vec<i64>>) {
    let (g, samples) = zkinfer_onnx::load_example(dir).expect("load example");
    quantize_and_compile(&g, &samples)
}

/// Quantizes a float graph calibrated on `samples`, compiles it, and quantizes the first
/// sample as the proof's inputs.
pub(crate) fn quantize_and_compile(
    g: &zkinfer_model::graph::FloatGraph,
    samples: &[Vec<Vec<f32>>],
) -> (ProvingKey, Vec<Vec<i64>>) {
    let q = quant::quantize(g, samples, &QuantConfig::default()).expect("quantize");
    let inputs: Vec<Vec<i64>> = q
        .inputs
        .iter()
        .zip(&samples[0])
        .map(|(id, x)| q.quantize_input(*id, x))
        .collect();
    (compile(q).expect("compile"), inputs)
}

fn roundtrip(dir: &Path) -> (ProvingKey, ModelProof) {
    let (pk, inputs) = setup(dir);
    let proof = prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &proof).expect("verify");
    let bytes = proof.to_bytes();
    let back = ModelProof::from_bytes(&bytes).expect("decode");
    verify(&pk.vk, &back).expect("verify decoded");
    (pk, proof)
}

#[test]
fn peer_models_roundtrip() {
    for name in [
        "1l_mlp",
        "1l_relu",
        "1l_flatten",
        "1l_conv",
        "4l_relu_conv_fc",
        "lenet_5",
        "1l_average",
    ] {
        let Some(dir) = peer(name) else {
            eprintln!("peer corpus not found; skipping {name}");
            continue;
        };
        eprintln!("{name}");
        roundtrip(&dir);
    }
}

#[test]
fn bundled_small_cnn_roundtrip() {
    roundtrip(&root().join("examples/models/small_cnn"));
}

#[test]
fn more_peer_ops_roundtrip() {
    for name in [
        "1l_max_pool",
        "1l_sigmoid",
        "1l_concat",
        "1l_pad",
        "1l_reshape",
        "2l_relu_sigmoid_small",
        "1l_where",
        "less",
        "1l_elu",
        "1l_prelu",
        "prelu_gmm",
        "1l_softmax",
        "self_attention",
    ] {
        let Some(dir) = peer(name) else {
            continue;
        };
        eprintln!("{name}");
        roundtrip(&dir);
    }
}

/// Every way of lying about one proof must be rejected, and hostile bytes must not panic.
#[test]
fn tampering_is_rejected() {
    tamper_in(&root().join("examples/models/small_cnn"));
    // Attention: activation×activation einsums, softmax, comparisons, where.
    if let Some(dir) = peer("self_attention") {
        tamper_in(&dir);
    }
}

fn tamper_in(dir: &Path) {
    let (pk, proof) = roundtrip(dir);
    let vk = &pk.vk;
    tamper_statement_and_bytes(vk, &proof, 64);

    // Another model's verifying key.
    if let Some(dir) = peer("4l_relu_conv_fc") {
        let (other, _) = setup(&dir);
        assert!(
            verify(&other.vk, &proof).is_err(),
            "proof accepted under another model"
        );
    }
    // The same architecture with one weight changed: a different commitment.
    let mut g2 = zkinfer_model::QuantizedGraph::clone(&pk.graph);
    for t in &mut g2.tensors {
        if let zkinfer_model::quant::QTensorKind::Const(d) = &mut t.kind {
            if let Some(v) = d.first_mut() {
                *v += 1;
                break;
            }
        }
    }
    let pk2 = compile(g2).expect("compile");
    assert_ne!(pk2.vk.commitment().unwrap(), vk.commitment().unwrap());
    assert!(
        verify(&pk2.vk, &proof).is_err(),
        "proof accepted under changed weights"
    );
}

/// A changed output or input, `flips` byte flips spread over the transcript, a truncated
/// transcript and a trailing byte: each must be rejected.
pub(crate) fn tamper_statement_and_bytes(
    vk: &crate::VerifyingKey,
    proof: &ModelProof,
    flips: usize,
) {
    let mut p = proof.clone();
    p.outputs[0][0] += 1;
    assert!(verify(vk, &p).is_err(), "changed output accepted");

    let mut p = proof.clone();
    p.inputs[0][0] ^= 1;
    assert!(verify(vk, &p).is_err(), "changed input accepted");

    let n = proof.transcript.len();
    for k in 0..flips {
        let mut p = proof.clone();
        let at = k * (n - 1) / (flips - 1);
        p.transcript[at] ^= 0x10;
        assert!(verify(vk, &p).is_err(), "flipped byte {at} of {n} accepted");
    }

    let mut p = proof.clone();
    p.transcript.truncate(n / 2);
    assert!(verify(vk, &p).is_err(), "truncated proof accepted");

    let mut p = proof.clone();
    p.transcript.push(0);
    assert!(verify(vk, &p).is_err(), "trailing byte accepted");
}

#[test]
fn hostile_bytes_do_not_panic() {
    let (pk, proof) = roundtrip(&root().join("examples/models/small_cnn"));
    let bytes = proof.to_bytes();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for len in [0usize, 1, 7, 64, 1000, bytes.len()] {
        let junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        assert!(ModelProof::from_bytes(&junk).is_err());
        assert!(crate::VerifyingKey::from_bytes(&junk).is_err());
        assert!(ProvingKey::from_bytes(&junk).is_err());
    }
    for cut in [0, 5, 11, bytes.len() / 3, bytes.len() - 1] {
        assert!(ModelProof::from_bytes(&bytes[..cut]).is_err());
    }
    // A well-formed statement with random transcripts.
    for len in [0usize, 10, 500, proof.transcript.len()] {
        let mut p = proof.clone();
        p.transcript = (0..len).map(|_| next() as u8).collect();
        assert!(verify(&pk.vk, &p).is_err());
    }
    // Keys survive their encodings.
    let vk2 = crate::VerifyingKey::from_bytes(&pk.vk.to_bytes()).expect("vk");
    assert_eq!(vk2, pk.vk);
    let pk2 = ProvingKey::from_bytes(&pk.to_bytes()).expect("pk");
    assert_eq!(pk2.vk, pk.vk);
}

/// A prover that lies about an intermediate tensor (and keeps everything else consistent
/// with its lie) is caught: either it cannot build the witness, or the verifier rejects.
/// Movements indexed by a public input (GatherElements, ScatterElements): honest proofs
/// verify; another valid index (a different map), a non-integer or out-of-range index, and a
/// forged scatter split are rejected.
#[test]
fn public_index_movement() {
    for name in ["gather_elements", "scatter_elements"] {
        let Some(dir) = peer(name) else { continue };
        let (pk, proof) = roundtrip(&dir);
        let frac = pk.graph.tensors[pk.graph.inputs[1].0].frac;
        let one = 1i64 << frac.max(0);
        let mut p = proof.clone();
        let i0 = p.inputs[1][0];
        p.inputs[1][0] = if i0 == 0 { one } else { 0 };
        assert!(verify(&pk.vk, &p).is_err(), "{name}: other index accepted");
        let mut p = proof.clone();
        p.inputs[1][0] += 1;
        assert!(
            verify(&pk.vk, &p).is_err(),
            "{name}: fractional index accepted"
        );
        let mut p = proof.clone();
        p.inputs[1][0] = 1000 * one;
        assert!(
            verify(&pk.vk, &p).is_err(),
            "{name}: out-of-range index accepted"
        );
        forged_in(&dir);
    }
}

#[test]
fn forged_intermediate_is_rejected() {
    forged_in(&root().join("examples/models/small_cnn"));
    for name in [
        "1l_prelu",
        "1l_where",
        "less",
        "1l_average",
        "1l_concat",
        "1l_softmax",
    ] {
        if let Some(dir) = peer(name) {
            forged_in(&dir);
        }
    }
}

/// Re-runs every node after `from` on `tr` (so a forged value flows downstream coherently).
pub(crate) fn rerun_after(
    g: &zkinfer_model::quant::QuantizedGraph,
    from: usize,
    tr: &mut zkinfer_model::quant::Trace,
) {
    for m in &g.nodes[from + 1..] {
        let ins: Vec<&[i64]> = m.inputs.iter().map(|i| tr.value(g, i.0)).collect();
        let shapes: Vec<&[usize]> = m
            .inputs
            .iter()
            .map(|i| g.tensors[i.0].shape.as_slice())
            .collect();
        let out = zkinfer_model::quant::run::eval_qnode(
            g,
            &m.op,
            &ins,
            &shapes,
            &g.tensors[m.output.0].shape,
        )
        .expect("eval");
        tr.values[m.output.0] = out;
    }
}

fn forged_in(dir: &Path) {
    let (pk, inputs) = setup(dir);
    let honest = zkinfer_model::quant::run::run_quantized(&pk.graph, &inputs).expect("run");
    let g = &pk.graph;
    let mut caught = 0;
    for n in &g.nodes {
        let mut tr = honest.clone();
        let y = &mut tr.values[n.output.0];
        y[0] += 1;
        // Recompute everything downstream from the forged value, so the lie is coherent.
        let mut forged = tr.clone();
        let start = g
            .nodes
            .iter()
            .position(|m| m.output == n.output)
            .unwrap_or(0);
        rerun_after(g, start, &mut forged);
        match crate::prove_trace(&pk, &forged) {
            Err(_) => caught += 1,
            Ok(p) => {
                assert!(verify(&pk.vk, &p).is_err(), "forged `{}` accepted", n.name);
                caught += 1;
            }
        }
    }
    assert_eq!(caught, g.nodes.len());
}

#[test]
fn trailing_bytes_are_rejected() {
    let (pk, proof) = roundtrip(&root().join("examples/models/small_cnn"));
    let mut b = proof.to_bytes();
    b.push(0);
    assert!(ModelProof::from_bytes(&b).is_err());
    let mut v = pk.vk.to_bytes();
    v.push(0);
    assert!(crate::VerifyingKey::from_bytes(&v).is_err());
}

/// Prints per-phase prove timings of lenet_5 (run with --ignored --nocapture; a profile aid,
/// not a timed test).
#[test]
#[ignore]
fn phase_timings() {
    for name in ["lenet_5", "large_mlp", "1l_mlp"] {
        let Some(dir) = peer(name) else { continue };
        let (pk, inputs) = setup(&dir);
        let tr = zkinfer_model::quant::run::run_quantized(&pk.graph, &inputs).expect("run");
        for _ in 0..2 {
            let (p, tm) = crate::prove_trace_timed(&pk, &tr).expect("prove");
            let t = std::time::Instant::now();
            verify(&pk.vk, &p).expect("verify");
            eprintln!(
                "{name}: {tm:?} verify {:.1} ms, {} bytes, witness layout {:?}",
                t.elapsed().as_secs_f64() * 1e3,
                p.transcript.len(),
                pk.plan.witness_layout()
            );
        }
    }
}

/// A corrupted verifying key (structurally broken graph) is an error, never a panic.
#[test]
fn broken_vk_is_an_error() {
    let (pk, proof) = roundtrip(&root().join("examples/models/small_cnn"));
    let mut vk = pk.vk.clone();
    vk.graph.nodes[0].inputs.clear();
    assert!(verify(&vk, &proof).is_err());
    let mut vk = pk.vk.clone();
    vk.graph.nodes[1].output = zkinfer_model::graph::TensorId(usize::MAX);
    assert!(verify(&vk, &proof).is_err());
    let mut vk = pk.vk.clone();
    vk.graph.tensors[0].shape = vec![3, 1];
    assert!(verify(&vk, &proof).is_err());
}

/// Requantization remainders are committed in 16-bit limbs; a top limb of `b < 16` bits is
/// looked up as `limb` and as `limb·2^(16−b)` in the shared 16-bit table. A prover that lowers
/// an output by one and raises its remainder by `2^s` keeps `M·acc + 2^(s−1) = 2^s·y + r`
/// true, but its top limb lands in `[2^b, 2^16)`: that must not get through (the prover's
/// multiplicities cannot be built, or the verifier rejects).
#[test]
fn remainder_beyond_its_width_is_rejected() {
    let mut forged_nodes = 0;
    let dirs = [root().join("examples/models/small_cnn")]
        .into_iter()
        .chain(["lenet_5", "1l_mlp"].into_iter().filter_map(peer));
    for dir in dirs {
        let (pk, inputs) = setup(&dir);
        let g = &pk.graph;
        let honest = zkinfer_model::quant::run::run_quantized(g, &inputs).expect("run");
        // The same entry point, unforged, verifies (so a rejection below is the forgery's).
        let wit = crate::protocol::build_witness(g, &pk.plan, &honest).expect("witness");
        let (p, _) = crate::protocol::prove_witness(&pk, wit, std::time::Instant::now())
            .expect("honest prove");
        verify(&pk.vk, &p).expect("honest verify");
        for (ni, n) in g.nodes.iter().enumerate() {
            let Some(rq) = crate::plan::requant(&n.op) else {
                continue;
            };
            let Some(&(top, bits)) = pk.plan.limbs[ni].last() else {
                continue;
            };
            if !g.outputs.contains(&n.output) || bits == 0 || bits >= crate::plan::LIMB_BITS {
                continue;
            }
            let y = &honest.values[n.output.0];
            let Some(i) = y.iter().position(|&v| v > rq.lo) else {
                continue;
            };
            let mut forged = honest.clone();
            forged.values[n.output.0][i] -= 1;
            let mut wit = crate::protocol::build_witness(g, &pk.plan, &honest).expect("witness");
            wit.trace = &forged;
            // r + 2^s: the top limb holds bits s − b … s − 1, so it grows by 2^b.
            wit.polys[top][i] += <crate::F as PrimeCharacteristicRing>::from_u64(1 << bits);
            forged_nodes += 1;
            match crate::protocol::prove_witness(&pk, wit, std::time::Instant::now()) {
                Ok((p, _)) => assert!(
                    verify(&pk.vk, &p).is_err(),
                    "{}: remainder of `{}` beyond {bits} bits accepted",
                    dir.display(),
                    n.name
                ),
                Err(e) => eprintln!("`{}` ({bits}-bit top limb): prover refused: {e}", n.name),
            }
        }
    }
    assert!(
        forged_nodes > 0,
        "no requantized output with a narrowed top limb"
    );
}

/// A key loaded with its weight commitment recomputed in the background proves like one
/// loaded eagerly; a `model.zkm` whose weights no longer match its stored verifying key is
/// refused by both (the background one at the weight opening, before any proof exists).
#[test]
fn background_load_checks_the_weights() {
    let (pk, inputs) = setup(&root().join("examples/models/small_cnn"));
    let bg = ProvingKey::from_bytes_background(&pk.to_bytes()).expect("load");
    let p = prove(&bg, &inputs).expect("prove");
    verify(&pk.vk, &p).expect("verify");

    let mut g = zkinfer_model::QuantizedGraph::clone(&pk.graph);
    let w = g
        .tensors
        .iter_mut()
        .find_map(|t| match &mut t.kind {
            zkinfer_model::quant::QTensorKind::Const(d) if !d.is_empty() => Some(d),
            _ => None,
        })
        .expect("a weight");
    w[0] += 1;
    let mut bad = compile(g).expect("compile");
    bad.vk = pk.vk.clone();
    let bytes = bad.to_bytes();
    assert!(ProvingKey::from_bytes(&bytes).is_err());
    let bg = ProvingKey::from_bytes_background(&bytes).expect("decodes");
    let err = prove(&bg, &inputs).expect_err("mismatched weights proved");
    assert!(err.to_string().contains("does not match"), "{err}");
}

/// Element-wise Max / Min of two tensors (two activations, an activation and a broadcast
/// constant): proven through rescale, stack and the max protocol; the proven output matches
/// the float graph, and a changed output is rejected.
#[test]
fn max_min_of_two_tensors() {
    use zkinfer_model::graph::{FloatGraph, FloatTensorKind};
    use zkinfer_model::ops::{BinaryKind, FloatOp};
    let mut g = FloatGraph::default();
    let x = g.add_tensor("x", vec![2, 3], FloatTensorKind::Input);
    let z = g.add_tensor("z", vec![2, 3], FloatTensorKind::Input);
    g.inputs.extend([x, z]);
    let c = g.add_tensor("c", vec![3], FloatTensorKind::Const(vec![0.25, -0.5, 1.5]));
    let m = g.add_node(
        "max",
        FloatOp::Binary(BinaryKind::Max),
        vec![x, c],
        vec![2, 3],
    );
    let y = g.add_node(
        "min",
        FloatOp::Binary(BinaryKind::Min),
        vec![m, z],
        vec![2, 3],
    );
    g.outputs.push(y);
    let xs = vec![0.3f32, -1.2, 2.0, 0.7, -0.1, -3.5];
    let zs = vec![1.0f32, -2.0, 0.5, 0.6, 3.0, 0.0];
    let samples = vec![vec![xs.clone(), zs.clone()]];
    let (pk, inputs) = quantize_and_compile(&g, &samples);
    let proof = prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &proof).expect("verify");
    let got = pk.graph.dequantize(pk.graph.outputs[0], &proof.outputs[0]);
    let want = zkinfer_model::eval(&g, &samples[0]).expect("eval");
    for (a, b) in got.iter().zip(&want[0]) {
        assert!((a - b).abs() < 1e-3, "{got:?} vs {:?}", want[0]);
    }
    let mut p = proof.clone();
    p.outputs[0][0] += 1;
    assert!(verify(&pk.vk, &p).is_err(), "changed output accepted");
}

/// The shape pass (the verifier's walk on stand-in messages, from the key alone) predicts
/// every sumcheck a real proof runs, in order, across the op families: the list a
/// zero-knowledge proof commits its masks for before the walk.
#[test]
fn shape_pass_predicts_every_sumcheck() {
    for name in [
        "lenet_5",
        "1l_max_pool",
        "1l_softmax",
        "layernorm",
        "1l_topk",
        "hard_max",
        "gather_elements",
        "1l_conv_transpose",
        "rnn",
        "1l_where",
        "max",
        "self_attention",
        "nanoGPT",
    ] {
        let Some(dir) = peer(name) else {
            eprintln!("peer corpus not found; skipping {name}");
            continue;
        };
        let (pk, inputs) = setup(&dir);
        let proof = prove(&pk, &inputs).expect("prove");
        let ran = crate::protocol::verified_shapes(&pk.vk, &proof).expect("verify");
        let predicted = crate::walk_shapes(&pk.vk).expect("shape pass");
        assert_eq!(predicted, ran, "{name}");
        let vars: usize = ran.iter().map(|s| s.vars).sum();
        eprintln!("{name}: {} sumchecks, {vars} rounds in all", ran.len());
    }
}
