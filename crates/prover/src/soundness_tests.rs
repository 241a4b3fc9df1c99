//! Soundness tests of issue 11: wrap-around forgeries of the requantization relation, hostile
//! verifying keys, parameter bounds enforced by `Plan::new`.

use zkinfer_field::p3_field::PrimeCharacteristicRing;
use zkinfer_model::graph::{FloatGraph, FloatTensorKind};
use zkinfer_model::ops::FloatOp;
use zkinfer_model::quant::QuantizedGraph;
use zkinfer_model::QuantOp;

use crate::plan::{requant, LIMB_BITS};
use crate::tests::{quantize_and_compile, rerun_after};
use crate::{compile, verify, Error, ProvingKey, F};

/// The Goldilocks modulus.
const P: i128 = (1i128 << 64) - (1i128 << 32) + 1;

/// `Concat([x, z])` with `x` nine orders of magnitude below `z`: aligning the two scales
/// rescales `x` by about 2^−36 (the graph of the forgery).
fn tiny_concat() -> (FloatGraph, Vec<Vec<Vec<f32>>>) {
    let mut g = FloatGraph::default();
    let x = g.add_tensor("x", vec![2], FloatTensorKind::Input);
    let z = g.add_tensor("z", vec![2], FloatTensorKind::Input);
    g.inputs.extend([x, z]);
    let y = g.add_node("cat", FloatOp::Concat { axis: 0 }, vec![x, z], vec![4]);
    g.outputs.push(y);
    let samples = vec![vec![vec![1e-9f32, -1e-9], vec![1000.0, -500.0]]];
    (g, samples)
}

/// The wrap-around alternative of requantization node `ni`'s element `i`: `V = M·acc + 2^(s−1)`
/// is also `2^s·y' + r'` modulo p with `y' = ⌊(V − p)/2^s⌋`, `r' = (V − p) mod 2^s`. Returns
/// `(y', r')` when `y'` lies in the activation range (the range check would pass), else None.
fn wrap_alternative(g: &QuantizedGraph, ni: usize, i: usize, acc: i64) -> Option<(i64, i128)> {
    let n = &g.nodes[ni];
    let rq = requant(&n.op)?;
    let s = rq.shift;
    let m = i128::from(rq.multiplier(i, &g.tensors[n.output.0].shape));
    let half = if s > 0 { 1i128 << (s - 1) } else { 0 };
    let v = m * i128::from(acc) + half;
    let w = if v >= 0 { v - P } else { v + P };
    let y = w.div_euclid(1i128 << s);
    let r = w.rem_euclid(1i128 << s);
    (y >= i128::from(rq.lo) && y <= i128::from(rq.hi)).then_some((y as i64, r))
}

/// Tries the wrap-around forgery on element `i` of requantization node `ni` (the honest
/// witness with that element and its limbs replaced, downstream recomputed). Returns whether
/// a proof was produced AND accepted; `None` when no alternative solution passes the range
/// checks.
fn try_wrap_forgery(pk: &ProvingKey, inputs: &[Vec<i64>], ni: usize, i: usize) -> Option<bool> {
    let g = &pk.graph;
    let honest = zkinfer_model::quant::run::run_quantized(g, inputs).expect("run");
    let n = &g.nodes[ni];
    let acc = match &n.op {
        QuantOp::Rescale { .. } => honest.values[n.inputs[0].0][i],
        _ => return None,
    };
    let (y, r) = wrap_alternative(g, ni, i, acc)?;
    let mut forged = honest.clone();
    forged.values[n.output.0][i] = y;
    rerun_after(g, ni, &mut forged);
    let mut wit = crate::protocol::build_witness(g, &pk.plan, &honest).expect("witness");
    wit.trace = &forged;
    for (j, &(p, _)) in pk.plan.limbs[ni].iter().enumerate() {
        let limb = (r >> (LIMB_BITS as usize * j)) & ((1 << LIMB_BITS) - 1);
        wit.polys[p][i] = F::from_u64(limb as u64);
    }
    Some(
        match crate::protocol::prove_witness(pk, wit, std::time::Instant::now()) {
            Ok((p, _)) => verify(&pk.vk, &p).is_ok(),
            Err(_) => false,
        },
    )
}

/// The forgery: a rescale by 2^−50 (`M = 16384, s = 50`) admits a second solution
/// `y' = −16384` that passes every range check. Such a node must be refused at compile (by
/// `Plan::new`, which the verifier runs too), naming the node; and the quantizer must no
/// longer produce it from the same float graph.
#[test]
fn wraparound_requantization_is_refused() {
    let (fg, samples) = tiny_concat();
    let (pk, inputs) = quantize_and_compile(&fg, &samples);
    let g = &pk.graph;
    let act = g.config.act_bits;
    // The quantizer keeps every shift field-safe.
    for n in &g.nodes {
        if let Some(rq) = requant(&n.op) {
            assert!(
                rq.shift + act <= 64,
                "`{}`: shift {} with {act}-bit activations",
                n.name,
                rq.shift
            );
        }
    }
    // The honest proof verifies, and its output is the float model's.
    let proof = crate::prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &proof).expect("verify");
    let got = g.dequantize(g.outputs[0], &proof.outputs[0]);
    assert!(got[0].abs() < 1e-3 && got[1].abs() < 1e-3, "{got:?}");
    assert!(
        (got[2] - 1000.0).abs() < 1.0 && (got[3] + 500.0).abs() < 1.0,
        "{got:?}"
    );
    // At the quantizer's parameters no wrap-around alternative passes the range check.
    for ni in 0..g.nodes.len() {
        if requant(&g.nodes[ni].op).is_some() {
            for i in 0..g.tensors[g.nodes[ni].output.0].shape.iter().product() {
                assert_eq!(try_wrap_forgery(&pk, &inputs, ni, i), None);
            }
        }
    }

    // The parameters, set by hand: refused when compiled, naming the node.
    let mut bad = zkinfer_model::QuantizedGraph::clone(g);
    let ni = bad
        .nodes
        .iter()
        .position(|n| matches!(n.op, QuantOp::Rescale { .. }))
        .expect("an align rescale");
    if let QuantOp::Rescale { requant } = &mut bad.nodes[ni].op {
        requant.multipliers = vec![16384];
        requant.shift = 50;
    }
    let name = bad.nodes[ni].name.clone();
    match compile(bad) {
        Err(e @ Error::Unsupported { .. }) => {
            assert!(e.to_string().contains(&name), "{e}");
            assert!(e.to_string().contains("shift"), "{e}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a requantization with s + A > 64 compiled"),
    }
}

/// A one-node graph `y = op(x[, z])` over inputs of shape `[n]` (hand-made, as a hostile or
/// boundary verifying key would be).
fn one_node(op: QuantOp, n_inputs: usize) -> QuantizedGraph {
    use zkinfer_model::graph::TensorId;
    use zkinfer_model::quant::{QTensor, QTensorKind, QuantConfig, QuantNode};
    let cfg = QuantConfig::default();
    let t = |name: &str, kind: QTensorKind| QTensor {
        name: name.into(),
        shape: vec![4],
        frac: 0,
        kind,
        float_id: None,
        bits: cfg.act_bits,
    };
    let mut tensors: Vec<QTensor> = (0..n_inputs)
        .map(|k| t(&format!("x{k}"), QTensorKind::Input))
        .collect();
    tensors.push(t("y", QTensorKind::Activation));
    QuantizedGraph {
        config: cfg,
        tensors,
        nodes: vec![QuantNode {
            name: "node".into(),
            op,
            inputs: (0..n_inputs).map(TensorId).collect(),
            output: TensorId(n_inputs),
        }],
        tables: vec![],
        inputs: (0..n_inputs).map(TensorId).collect(),
        outputs: vec![TensorId(n_inputs)],
    }
}

/// A one-node `Rescale` graph with multiplier `m` and shift `s` at the activation range.
fn rescale(m: i64, s: u32) -> QuantizedGraph {
    let (lo, hi) = zkinfer_model::QuantConfig::default().act_range();
    let requant = zkinfer_model::quant::Requant {
        multipliers: vec![m],
        shift: s,
        index: zkinfer_model::quant::RequantIndex::Tensor,
        lo,
        hi,
    };
    one_node(QuantOp::Rescale { requant }, 1)
}

/// Every `(y', r')` with `2^s·y' + r' ≡ V (mod p)`, `y'` in `[lo, hi]`, `r'` in `[0, 2^s)`,
/// other than the integer solution (V − k·p for small k ≠ 0).
fn alternatives(v: i128, s: u32, lo: i64, hi: i64) -> Vec<(i128, i128)> {
    (-3i128..=3)
        .filter(|&k| k != 0)
        .filter_map(|k| {
            let w = v - k * P;
            let (y, r) = (w.div_euclid(1i128 << s), w.rem_euclid(1i128 << s));
            (y >= i128::from(lo) && y <= i128::from(hi)).then_some((y, r))
        })
        .collect()
}

/// Property: over a grid of multipliers and shifts (and the extreme accumulators the range
/// checks allow), `Plan::new` accepts a requantization only if no wrap-around solution exists,
/// and the quantizer's own cap is accepted.
#[test]
fn plan_refuses_every_requantization_with_an_alternative_solution() {
    let (lo, hi) = zkinfer_model::QuantConfig::default().act_range();
    let act = 1i128 << 15;
    let (mut accepted, mut refused) = (0, 0);
    for s in 0..=63u32 {
        for m in [1i64, 3, 1 << 14, (1 << 15) - 1, 1 << 30, 1 << 40] {
            let ok = crate::Plan::new(&rescale(m, s)).is_ok();
            let half = if s > 0 { 1i128 << (s - 1) } else { 0 };
            let alt = [-act, -act + 1, -1, 0, 1, act - 1]
                .iter()
                .any(|&acc| !alternatives(i128::from(m) * acc + half, s, lo, hi).is_empty());
            if alt {
                assert!(
                    !ok,
                    "M = {m}, s = {s}: accepted with a wrap-around solution"
                );
            }
            if ok {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
        // The quantizer's cap is accepted.
        if s <= zkinfer_model::quant::bounds::max_requant_shift(16) {
            assert!(crate::Plan::new(&rescale(1 << 14, s)).is_ok());
        }
    }
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
}

/// Property for comparisons: an ordering whose excess could wrap, or an equality whose
/// difference could be a non-zero multiple of p, is refused; shifts the quantizer produces
/// are accepted, and at every accepted shift no wrapped-around wrong answer passes the checks.
#[test]
fn plan_refuses_wrapping_comparisons() {
    use zkinfer_model::BinaryKind;
    for kind in [BinaryKind::Less, BinaryKind::GreaterEq, BinaryKind::Equal] {
        for ls in [0u32, 8, 20, 40, 46, 47, 60, 96] {
            let op = QuantOp::Compare {
                lhs_shift: ls,
                rhs_shift: 0,
                kind,
            };
            let ok = crate::Plan::new(&one_node(op, 2)).is_ok();
            // |d| ≤ 2^(15+ls) + 2^15; ordering excess of 16 + ls + 1 bits.
            let d_bits = 15 + ls + 1;
            let safe = match kind {
                BinaryKind::Equal => d_bits < 64,
                _ => 16 + ls < 63,
            };
            assert_eq!(ok, safe && ls <= 40, "{kind:?} lhs_shift {ls}");
            if !ok {
                continue;
            }
            // Where accepted, no wrong answer passes: for the extreme differences the range
            // checks allow, the wrong output's excess `t = −σd − c` (or, for equality, a
            // non-zero `d`) has no residue `t + k·p` in the excess range / at zero.
            let b_d = (1i128 << (15 + ls)) + (1i128 << 15);
            let e_bits = 16 + ls + 1;
            for d in [-b_d, -b_d + 1, -1, 1, b_d - 1, b_d] {
                for c in [0i128, 1] {
                    for sign in [-1i128, 1] {
                        let t = sign * d - c;
                        for k in [-2i128, -1, 1, 2] {
                            let w = t + k * P;
                            if kind == BinaryKind::Equal {
                                assert_ne!(d + k * P, 0, "equality: d = {d} wraps to 0");
                            } else {
                                assert!(
                                    !(0..1i128 << e_bits).contains(&w),
                                    "{kind:?} ls {ls}: excess {t} wraps into range"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Hostile verifying keys: each numeric field pushed out of range, duplicate inputs, layout
/// entries inconsistent with the graph — `verify` returns a typed error from the key checks
/// (not a transcript rejection further down, and never a panic or an acceptance).
#[test]
fn hostile_verifying_keys_are_refused() {
    use zkinfer_model::quant::QTensorKind;
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models/small_cnn");
    let (pk, inputs) = crate::tests::setup(&root);
    let proof = crate::prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &proof).expect("honest");
    type Edit = Box<dyn Fn(&mut crate::VerifyingKey)>;
    let first_rq = |vk: &mut crate::VerifyingKey| -> usize {
        vk.graph
            .nodes
            .iter()
            .position(|n| requant(&n.op).is_some())
            .expect("a requantization")
    };
    let with_rq = move |f: fn(&mut zkinfer_model::quant::Requant)| -> Edit {
        Box::new(move |vk: &mut crate::VerifyingKey| {
            let ni = first_rq(vk);
            if let Some(rq) = vk.graph.nodes[ni].op.requant_mut() {
                f(rq);
            }
        })
    };
    let first_const_bits = |bits: u32| -> Edit {
        Box::new(move |vk: &mut crate::VerifyingKey| {
            if let Some(t) = vk
                .graph
                .tensors
                .iter_mut()
                .find(|t| matches!(t.kind, QTensorKind::Const(_)))
            {
                t.bits = bits;
            }
        })
    };
    let cases: Vec<(&str, Edit)> = vec![
        ("act_bits 0", Box::new(|vk| vk.graph.config.act_bits = 0)),
        ("act_bits 40", Box::new(|vk| vk.graph.config.act_bits = 40)),
        (
            "weight_bits 0",
            Box::new(|vk| vk.graph.config.weight_bits = 0),
        ),
        (
            "weight_bits 200",
            Box::new(|vk| vk.graph.config.weight_bits = 200),
        ),
        ("shift 50", with_rq(|r| r.shift = 50)),
        ("shift 4000", with_rq(|r| r.shift = 4000)),
        ("multiplier 2^62", with_rq(|r| r.multipliers[0] = 1 << 62)),
        (
            "multiplier i64::MIN",
            with_rq(|r| r.multipliers[0] = i64::MIN),
        ),
        ("no multipliers", with_rq(|r| r.multipliers.clear())),
        ("clamp", with_rq(|r| r.hi = 1 << 40)),
        (
            "fraction",
            Box::new(|vk| vk.graph.tensors[0].frac = 1 << 20),
        ),
        ("constant width 0", first_const_bits(0)),
        ("constant width 63", first_const_bits(63)),
        (
            "constant width 40 (accumulators overflow)",
            Box::new(|vk| {
                for t in &mut vk.graph.tensors {
                    if matches!(t.kind, QTensorKind::Const(_)) {
                        t.bits = 40;
                    }
                }
            }),
        ),
        (
            "activation width",
            Box::new(|vk| vk.graph.tensors.last_mut().unwrap().bits = 20),
        ),
        (
            "duplicate input",
            Box::new(|vk| {
                let i = vk.graph.inputs[0];
                vk.graph.inputs.push(i);
            }),
        ),
        (
            "weight layout entry",
            Box::new(|vk| vk.weight_layout[0] += 1),
        ),
        (
            "weight group dropped",
            Box::new(|vk| vk.weight_groups.clear()),
        ),
        (
            "conv kernel",
            Box::new(|vk| {
                for n in &mut vk.graph.nodes {
                    if let QuantOp::Conv { spec, .. } = &mut n.op {
                        spec.window.kernel[0] += 1;
                        return;
                    }
                }
                panic!("no conv");
            }),
        ),
        (
            "conv groups",
            Box::new(|vk| {
                for n in &mut vk.graph.nodes {
                    if let QuantOp::Conv { spec, .. } = &mut n.op {
                        spec.group = 7;
                        return;
                    }
                }
            }),
        ),
        (
            "operand rank above the output",
            Box::new(|vk| {
                let ni = vk
                    .graph
                    .nodes
                    .iter()
                    .position(|n| matches!(n.op, QuantOp::Conv { .. }))
                    .unwrap();
                let x = vk.graph.nodes[ni].inputs[0];
                vk.graph.tensors[x.0].shape.insert(0, 1);
            }),
        ),
    ];
    for (what, edit) in cases {
        let mut vk = pk.vk.clone();
        edit(&mut vk);
        match verify(&vk, &proof) {
            Ok(()) => panic!("{what}: hostile key accepted"),
            Err(e @ (Error::Unsupported { .. } | Error::Statement(_))) => {
                eprintln!("{what}: {e}");
            }
            Err(e) => panic!("{what}: not refused by the key checks: {e}"),
        }
    }
}

/// The weight-range proof: produced at compile (narrow and limbed constants), checked by
/// `verify`; a key that declares a constant narrower than committed, a tampered or truncated
/// range proof, another model's range proof, or changed binding values are all rejected; a
/// constant outside its declared width cannot be compiled.
#[test]
fn weight_range_proof() {
    use zkinfer_model::quant::QTensorKind;
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/models/small_cnn");
    let (pk, inputs) = crate::tests::setup(&root);
    let g = &pk.graph;
    let widths: Vec<u32> = g
        .tensors
        .iter()
        .filter(|t| matches!(t.kind, QTensorKind::Const(_)))
        .map(|t| t.bits)
        .collect();
    assert!(
        widths.iter().any(|&b| b > 16),
        "no limbed constant: {widths:?}"
    );
    assert!(
        widths.iter().any(|&b| b < 16),
        "no narrow constant: {widths:?}"
    );
    assert!(!pk.vk.weight_groups[0].range_proof.is_empty());
    crate::range::verify(&pk.vk, &pk.plan).expect("range proof verifies");
    // Deterministic: an eager reload recompiles and must reproduce the stored key exactly.
    ProvingKey::from_bytes(&pk.to_bytes()).expect("reload reproduces the verifying key");
    let proof = crate::prove(&pk, &inputs).expect("prove");
    verify(&pk.vk, &proof).expect("verify");

    let rejected = |vk: &crate::VerifyingKey, what: &str| {
        assert!(
            crate::range::verify(vk, &pk.plan).is_err(),
            "{what}: range proof accepted"
        );
        assert!(verify(vk, &proof).is_err(), "{what}: model proof accepted");
    };
    // A narrower declaration than what was proven (every constant in turn).
    for (k, _) in g
        .tensors
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t.kind, QTensorKind::Const(_)) && t.bits > 1)
    {
        let mut vk = pk.vk.clone();
        vk.graph.tensors[k].bits -= 1;
        rejected(
            &vk,
            &format!("`{}` declared one bit narrower", g.tensors[k].name),
        );
    }
    // Flipped bytes across the range proof, and truncations.
    let n = pk.vk.weight_groups[0].range_proof.len();
    for i in (0..n).step_by((n / 40).max(1)) {
        let mut vk = pk.vk.clone();
        vk.weight_groups[0].range_proof[i] ^= 0x10;
        rejected(&vk, &format!("byte {i} flipped"));
    }
    for cut in [0, 1, n / 2, n - 1] {
        let mut vk = pk.vk.clone();
        vk.weight_groups[0].range_proof.truncate(cut);
        rejected(&vk, &format!("truncated to {cut}"));
    }
    // Changed binding values.
    let mut vk = pk.vk.clone();
    vk.weight_groups[0].binding[0] += crate::EF::ONE;
    rejected(&vk, "binding value");
    // Another model's range proof.
    let other = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/peer-models/ezkl/1l_mlp");
    if other.join("network.onnx").exists() {
        let (pk2, _) = crate::tests::setup(&other);
        let mut vk = pk.vk.clone();
        vk.weight_groups[0].range_proof = pk2.vk.weight_groups[0].range_proof.clone();
        rejected(&vk, "another model's range proof");
    }
    // A constant outside its declared width is refused at compile, naming the range check.
    let mut bad = zkinfer_model::QuantizedGraph::clone(g);
    let k = bad
        .tensors
        .iter()
        .position(|t| matches!(t.kind, QTensorKind::Const(_)) && t.bits > 2)
        .expect("a constant");
    let top = 1i64 << (bad.tensors[k].bits - 1);
    if let QTensorKind::Const(d) = &mut bad.tensors[k].kind {
        d[0] = top;
    }
    match compile(bad) {
        Err(e) => assert!(e.to_string().contains("declared width"), "{e}"),
        Ok(_) => panic!("a constant outside its declared width compiled"),
    }
}

/// End to end at the boundary of the allowed parameters (`s = 62 − A`, the largest 15-bit
/// multiplier, extreme inputs): the honest proof verifies, and for every element the
/// wrap-around alternative fails the range check (no forged witness exists to try).
#[test]
fn requantization_at_the_boundary_has_no_alternative() {
    let (lo, hi) = zkinfer_model::QuantConfig::default().act_range();
    let s = zkinfer_model::quant::bounds::max_requant_shift(16);
    for m in [(1i64 << 15) - 1, -((1i64 << 15) - 1), 1 << 40] {
        let g = rescale(m, s);
        let pk = compile(g).expect("boundary parameters compile");
        let inputs = vec![vec![lo, hi, -1, 1]];
        let proof = crate::prove(&pk, &inputs).expect("prove");
        verify(&pk.vk, &proof).expect("verify");
        for i in 0..4 {
            assert_eq!(
                try_wrap_forgery(&pk, &inputs, 0, i),
                None,
                "M = {m}, element {i}"
            );
        }
    }
}
