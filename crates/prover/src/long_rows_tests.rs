//! Max/min groups and softmax rows far beyond the product check's 64 elements, proven with the
//! one-hot selector (`ops::attain`): honest proofs, maxima that are not attained, forged
//! selectors, flipped bytes, and the plan's limits.

use zkinfer_model::graph::{FloatGraph, FloatTensorKind};
use zkinfer_model::ops::{FloatOp, ReduceKind, WindowSpec};
use zkinfer_model::quant::run::run_quantized;
use zkinfer_model::{QuantOp, Trace};

use crate::layout::pad_base;
use crate::ops::attain::{selector_poly, uses_selector};
use crate::protocol::{build_witness, prove_witness};
use crate::tests::{quantize_and_compile, rerun_after};
use crate::{prove, verify, ModelProof, ProvingKey, F};
use zkinfer_field::p3_field::PrimeCharacteristicRing;

/// Deterministic values in `[-4, 4)` with repeats (ties among the maxima).
fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 + seed * 104_729) % 1009) as f32 / 126.0 - 4.0)
        .collect()
}

/// `x [rows, len] → op → y`.
fn one_op(rows: usize, len: usize, op: FloatOp, out: Vec<usize>) -> (FloatGraph, Vec<f32>) {
    let mut g = FloatGraph::default();
    let x = g.add_tensor("x", vec![rows, len], FloatTensorKind::Input);
    let y = g.add_node("op", op, vec![x], out);
    g.inputs = vec![x];
    g.outputs = vec![y];
    (g, values(rows * len, len))
}

fn softmax(rows: usize, len: usize) -> (ProvingKey, Vec<Vec<i64>>) {
    let op = FloatOp::Softmax {
        axis: 1,
        log: false,
    };
    let (g, xs) = one_op(rows, len, op, vec![rows, len]);
    quantize_and_compile(&g, &[vec![xs]])
}

fn reduce(rows: usize, len: usize, kind: ReduceKind) -> (ProvingKey, Vec<Vec<i64>>) {
    let op = FloatOp::Reduce {
        axes: vec![1],
        kind,
    };
    let (g, xs) = one_op(rows, len, op, vec![rows, 1]);
    quantize_and_compile(&g, &[vec![xs]])
}

/// The node of `pk` whose op matches, with its selector poly.
fn node_with_selector(pk: &ProvingKey, f: impl Fn(&QuantOp) -> bool) -> (usize, Option<usize>) {
    let ni = pk.graph.nodes.iter().position(|n| f(&n.op)).expect("node");
    (ni, selector_poly(&pk.plan, ni))
}

/// Proves, verifies, checks the decoded proof and returns it.
fn roundtrip(pk: &ProvingKey, inputs: &[Vec<i64>]) -> ModelProof {
    let proof = prove(pk, inputs).expect("prove");
    verify(&pk.vk, &proof).expect("verify");
    let back = ModelProof::from_bytes(&proof.to_bytes()).expect("decode");
    verify(&pk.vk, &back).expect("verify decoded");
    proof
}

/// Flipped transcript bytes, changed outputs and a truncated proof are rejected.
fn tamper(pk: &ProvingKey, proof: &ModelProof, flips: usize) {
    let n = proof.transcript.len();
    for k in 0..flips {
        let mut p = proof.clone();
        let at = k * (n - 1) / (flips - 1);
        p.transcript[at] ^= 0x04;
        assert!(verify(&pk.vk, &p).is_err(), "flipped byte {at} of {n}");
    }
    let mut p = proof.clone();
    p.outputs[0][0] += 1;
    assert!(verify(&pk.vk, &p).is_err(), "changed output accepted");
    let mut p = proof.clone();
    p.transcript.truncate(n - 1);
    assert!(verify(&pk.vk, &p).is_err(), "truncated proof accepted");
}

#[test]
fn softmax_over_1000_and_2048_elements() {
    for (rows, len) in [(2, 1000), (1, 2048)] {
        let (pk, inputs) = softmax(rows, len);
        let (_, sel) = node_with_selector(&pk, |op| matches!(op, QuantOp::Softmax { .. }));
        assert!(sel.is_some(), "rows of {len} use the selector");
        let proof = roundtrip(&pk, &inputs);
        // The proven output is the integer run's, and sums to about 1 per row.
        let tr = run_quantized(&pk.graph, &inputs).expect("run");
        assert_eq!(proof.outputs[0], tr.values[pk.graph.outputs[0].0]);
        let frac = pk.graph.tensors[pk.graph.outputs[0].0].frac;
        for row in proof.outputs[0].chunks(len) {
            let s: f64 = row.iter().map(|&v| v as f64).sum::<f64>() / 2f64.powi(frac);
            assert!((s - 1.0).abs() < 0.05, "row sum {s}");
        }
        tamper(&pk, &proof, if len == 2048 { 24 } else { 8 });
    }
}

#[test]
fn reduce_max_and_min_over_300_elements() {
    for kind in [ReduceKind::Max, ReduceKind::Min] {
        let (pk, inputs) = reduce(4, 300, kind);
        let (_, sel) = node_with_selector(&pk, |op| matches!(op, QuantOp::ReduceMax { .. }));
        assert!(sel.is_some());
        let proof = roundtrip(&pk, &inputs);
        let x = &inputs[0];
        for (o, &y) in proof.outputs[0].iter().enumerate() {
            let row = x[o * 300..(o + 1) * 300].iter().copied();
            let want = if kind == ReduceKind::Max {
                row.max()
            } else {
                row.min()
            };
            assert_eq!(Some(y), want, "row {o}");
        }
        tamper(&pk, &proof, 16);
    }
}

/// Both sides of the protocol switch (64: product, 65: selector), and a max pool whose
/// 81-element windows are cut by the padding (groups of unequal sizes in one grid).
#[test]
fn attainment_protocols_meet_at_64() {
    for len in [64, 65] {
        let (pk, inputs) = reduce(3, len, ReduceKind::Max);
        let (_, sel) = node_with_selector(&pk, |op| matches!(op, QuantOp::ReduceMax { .. }));
        assert_eq!(sel.is_some(), uses_selector(len));
        roundtrip(&pk, &inputs);
    }
    let win = WindowSpec {
        kernel: vec![9, 9],
        strides: vec![3, 3],
        dilations: vec![1, 1],
        pads_before: vec![4, 4],
    };
    let mut g = FloatGraph::default();
    let x = g.add_tensor("x", vec![1, 2, 12, 12], FloatTensorKind::Input);
    let y = g.add_node("pool", FloatOp::MaxPool(win), vec![x], vec![1, 2, 4, 4]);
    g.inputs = vec![x];
    g.outputs = vec![y];
    let (pk, inputs) = quantize_and_compile(&g, &[vec![values(288, 3)]]);
    let (ni, sel) = node_with_selector(&pk, |op| matches!(op, QuantOp::MaxPool(_)));
    assert!(sel.is_some());
    let (grs, _) = crate::ops::max::groups(&pk.graph, ni).expect("groups");
    assert!(grs.iter().any(|w| w.len() < 81) && grs.iter().any(|w| w.len() == 81));
    let proof = roundtrip(&pk, &inputs);
    tamper(&pk, &proof, 8);
}

/// How the forger fills group 0 of the selector.
#[derive(Clone, Copy, Debug)]
enum Pick {
    /// The honest member (now at a nonzero difference).
    Honest,
    /// No member at all.
    None,
    /// None, and a second member of group 1 instead.
    OtherGroup,
    /// Two members.
    Two,
    /// Two members and a −1: the group sums to 1 but is not 0/1.
    NotBinary,
}

const PICKS: [Pick; 5] = [
    Pick::Honest,
    Pick::None,
    Pick::OtherGroup,
    Pick::Two,
    Pick::NotBinary,
];

/// Rewrites group 0 of the selector (groups of `len` members, in pairs order).
fn pick(s: &mut [F], len: usize, how: Pick) {
    let honest = s[..len].iter().position(|&v| v == F::ONE).expect("one");
    let other = (honest + 1) % len;
    s[..len].iter_mut().for_each(|v| *v = F::ZERO);
    match how {
        Pick::Honest => s[honest] = F::ONE,
        Pick::None => {}
        Pick::OtherGroup => {
            let taken = s[len..2 * len]
                .iter()
                .position(|&v| v == F::ONE)
                .expect("one");
            s[len + (taken + 1) % len] = F::ONE;
        }
        Pick::Two => {
            s[honest] = F::ONE;
            s[other] = F::ONE;
        }
        Pick::NotBinary => {
            s[honest] = F::ONE;
            s[other] = F::ONE;
            s[(honest + 2) % len] = -F::ONE;
        }
    }
}

/// Proves a forged witness with selector group 0 filled `how`; the constraint that catches
/// it: (b) a group sum other than 1 or (c) a selected nonzero difference (the verifier's
/// batched sumcheck), (a) `s ∉ {0, 1}` (the prover's lookup multiplicities cannot be built).
fn forged_is_rejected(pk: &ProvingKey, wit: crate::walk::Witness<'_>, how: Pick) {
    let err = match prove_witness(pk, wit, std::time::Instant::now()) {
        Err(e) => format!("prover refused: {e}"),
        Ok((p, _)) => match verify(&pk.vk, &p) {
            Err(e) => e.to_string(),
            Ok(()) => panic!("{how:?}: forged proof accepted"),
        },
    };
    let want = match how {
        Pick::NotBinary => "not in table",
        _ => "sumcheck",
    };
    assert!(err.contains(want), "{how:?}: {err}");
}

/// A ReduceMax whose output exceeds every member of its group (each difference in range, none
/// zero) cannot be proven: the honest witness builder refuses, and forged selectors are
/// rejected.
#[test]
fn unattained_max_is_rejected() {
    let len = 300;
    let (pk, inputs) = reduce(4, len, ReduceKind::Max);
    let g = &pk.graph;
    let (ni, sel) = node_with_selector(&pk, |op| matches!(op, QuantOp::ReduceMax { .. }));
    let sel = sel.expect("selector");
    let honest = run_quantized(g, &inputs).expect("run");
    // The unforged path verifies (so the rejections below are the forgery's).
    let wit = build_witness(g, &pk.plan, &honest).expect("witness");
    let (p, _) = prove_witness(&pk, wit, std::time::Instant::now()).expect("honest prove");
    verify(&pk.vk, &p).expect("honest verify");

    let y = g.nodes[ni].output.0;
    let mut forged: Trace = honest.clone();
    forged.values[y][0] += 1;
    rerun_after(g, ni, &mut forged);
    let err = crate::prove_trace(&pk, &forged).expect_err("unattained max proved");
    assert!(err.to_string().contains("none of its members"), "{err}");
    for how in PICKS {
        let mut wit = build_witness(g, &pk.plan, &honest).expect("witness");
        wit.trace = &forged;
        let out = pk.plan.out_poly[ni].expect("output poly");
        wit.polys[out] = pad_base(&forged.values[y], 0);
        pick(&mut wit.polys[sel], len, how);
        forged_is_rejected(&pk, wit, how);
    }
}

/// A softmax whose row maximum is one above the true maximum (so every `x − m` is still in
/// the exp table, and exponentials, sums and outputs are computed consistently from it) cannot
/// be proven.
#[test]
fn softmax_with_a_wrong_maximum_is_rejected() {
    let len = 1000;
    let (pk, inputs) = softmax(2, len);
    let g = &pk.graph;
    let (ni, sel) = node_with_selector(&pk, |op| matches!(op, QuantOp::Softmax { .. }));
    let sel = sel.expect("selector");
    let QuantOp::Softmax {
        exp_table,
        out_frac,
        ..
    } = g.nodes[ni].op
    else {
        unreachable!()
    };
    let tab = &g.tables[exp_table.0];
    let honest = run_quantized(g, &inputs).expect("run");
    let (x, y) = (g.nodes[ni].inputs[0].0, g.nodes[ni].output.0);
    let xv = &honest.values[x];
    let rs = crate::ops::softmax::rows(g, ni).expect("rows");
    let mut m: Vec<i64> = rs
        .iter()
        .map(|r| r.iter().map(|&i| xv[i]).max().expect("max"))
        .collect();
    m[0] += 1;
    // The outputs a softmax with that maximum gives: y = ⌊(2^f·e + ⌊S/2⌋)/S⌋.
    let mut forged: Trace = honest.clone();
    for (row, &mx) in rs.iter().zip(&m) {
        let e: Vec<i64> = row
            .iter()
            .map(|&i| tab.get(xv[i] - mx).expect("in table"))
            .collect();
        let s: i64 = e.iter().sum();
        for (&i, &ei) in row.iter().zip(&e) {
            forged.values[y][i] = ((ei << out_frac) + s / 2) / s;
        }
    }
    assert_ne!(
        forged.values[y], honest.values[y],
        "the forgery changes the output"
    );
    rerun_after(g, ni, &mut forged);
    let sw = crate::ops::softmax::witness_with_max(tab, &rs, out_frac, xv, &forged.values[y], m)
        .expect("forged softmax witness");
    let ps = crate::ops::softmax::polys(&pk.plan, ni).expect("polys");
    for how in PICKS {
        let mut wit = build_witness(g, &pk.plan, &honest).expect("witness");
        wit.trace = &forged;
        crate::ops::softmax::write_polys(&ps, tab, &sw, &mut wit.polys);
        wit.polys[ps.y] = pad_base(&forged.values[y], 0);
        pick(&mut wit.polys[sel], len, how);
        forged_is_rejected(&pk, wit, how);
    }
}

/// `Plan::new` (run by `compile` before the weight commitment) refuses groups and rows above
/// the limit, naming the node.
#[test]
fn plan_refuses_groups_above_the_limit() {
    let big = crate::ops::attain::MAX_GROUP + 1;
    for (what, make) in [
        (
            "max",
            reduce as fn(usize, usize, ReduceKind) -> (ProvingKey, Vec<Vec<i64>>),
        ),
        ("softmax", |r, l, _| softmax(r, l)),
    ] {
        let (pk, _) = make(1, 70, ReduceKind::Max);
        let mut q = zkinfer_model::QuantizedGraph::clone(&pk.graph);
        let (ni, _) = node_with_selector(&pk, |op| {
            matches!(op, QuantOp::Softmax { .. } | QuantOp::ReduceMax { .. })
        });
        let (x, y) = (q.nodes[ni].inputs[0].0, q.nodes[ni].output.0);
        q.tensors[x].shape = vec![1, big];
        q.tensors[y].shape = if what == "max" {
            vec![1, 1]
        } else {
            vec![1, big]
        };
        let Err(err) = crate::compile(q) else {
            panic!("{what}: a row of {big} compiled");
        };
        assert!(err.to_string().contains(&format!("{big}")), "{what}: {err}");
    }
}

/// Prove time and proof size of the attainment protocols around the switch and beyond (run
/// with --ignored --nocapture; a profile aid, not a timed test).
#[test]
#[ignore]
fn attainment_costs() {
    let cases: Vec<(&str, ProvingKey, Vec<Vec<i64>>)> = vec![
        ("reducemax [16384, 16]", reduce(16384, 16, ReduceKind::Max)),
        ("reducemax [8192, 32]", reduce(8192, 32, ReduceKind::Max)),
        ("reducemax [4096, 64]", reduce(4096, 64, ReduceKind::Max)),
        ("reducemax [4032, 65]", reduce(4032, 65, ReduceKind::Max)),
        ("reducemax [2048, 128]", reduce(2048, 128, ReduceKind::Max)),
        ("softmax [1024, 64]", softmax(1024, 64)),
        ("softmax [32, 2048]", softmax(32, 2048)),
    ]
    .into_iter()
    .map(|(n, (pk, i))| (n, pk, i))
    .collect();
    for (name, pk, inputs) in cases {
        let tr = run_quantized(&pk.graph, &inputs).expect("run");
        let mut best = (f64::MAX, None);
        let mut bytes = 0;
        for _ in 0..3 {
            let (p, tm) = crate::prove_trace_timed(&pk, &tr).expect("prove");
            let total = tm.witness_ms + tm.commit_ms + tm.lookup_ms + tm.walk_ms + tm.open_ms;
            if total < best.0 {
                best = (total, Some(tm));
            }
            bytes = p.transcript.len();
        }
        let p = prove(&pk, &inputs).expect("prove");
        let t = std::time::Instant::now();
        verify(&pk.vk, &p).expect("verify");
        eprintln!(
            "{name}: prove {:.1} ms ({:?}), verify {:.1} ms, {bytes} bytes, witness {:?}",
            best.0,
            best.1.unwrap_or_default(),
            t.elapsed().as_secs_f64() * 1e3,
            pk.plan.witness_layout()
        );
    }
}
