//! The GGUF reader on well-formed input: metadata of every type, tensor layout, and each
//! supported ggml type against values computed by gguf-py (`gguf.quants.dequantize`).

use half::{bf16, f16};

use super::gguf_write::{GgufFile, TestTensor};
use crate::formats::gguf::{GgmlType, GgufValue};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn metadata_of_every_type_round_trips() {
    let vals = [
        GgufValue::U8(200),
        GgufValue::I8(-3),
        GgufValue::U16(60000),
        GgufValue::I16(-30000),
        GgufValue::U32(4_000_000_000),
        GgufValue::I32(-7),
        GgufValue::F32(1.5),
        GgufValue::Bool(true),
        GgufValue::String("héllo".into()),
        GgufValue::Array(vec![GgufValue::I32(1), GgufValue::I32(-2)]),
        GgufValue::Array(vec![
            GgufValue::Array(vec![GgufValue::String("a".into())]),
            GgufValue::Array(vec![GgufValue::String("b c".into())]),
        ]),
        GgufValue::U64(1 << 40),
        GgufValue::I64(-(1 << 40)),
        GgufValue::F64(-0.25),
    ];
    let mut f = GgufFile::new();
    for (i, v) in vals.iter().enumerate() {
        f.kv(&format!("k.{i:02}"), v.clone());
    }
    let g = f.parse().expect("parse");
    assert_eq!(g.version(), 3);
    for (i, v) in vals.iter().enumerate() {
        assert_eq!(g.meta(&format!("k.{i:02}")), Some(v), "key {i}");
    }
    assert_eq!(
        g.meta("k.04").and_then(GgufValue::as_u64),
        Some(4_000_000_000)
    );
    assert_eq!(
        g.meta("k.05").and_then(GgufValue::as_u64),
        None,
        "negative is not unsigned"
    );
    assert_eq!(g.meta("k.05").and_then(GgufValue::as_i64), Some(-7));
    assert_eq!(g.meta("k.06").and_then(GgufValue::as_f64), Some(1.5));
    assert_eq!(g.meta_keys().count(), vals.len());
}

#[test]
fn float_tensors_are_row_major_with_dims_reversed() {
    let vals: Vec<f32> = (0..6).map(|i| i as f32 * 0.5 - 1.0).collect();
    let mut f = GgufFile::new();
    f.version = 2;
    f.alignment = 64;
    f.kv("general.alignment", GgufValue::U32(64));
    f.tensors.push(TestTensor::f32("a", &[3, 2], &vals));
    let h: Vec<u8> = vals
        .iter()
        .flat_map(|v| f16::from_f32(*v).to_le_bytes())
        .collect();
    f.tensors.push(TestTensor::raw("b", &[3, 2], 1, h));
    let b: Vec<u8> = vals
        .iter()
        .flat_map(|v| bf16::from_f32(*v).to_le_bytes())
        .collect();
    f.tensors.push(TestTensor::raw("c", &[6], 30, b));
    let g = f.parse().expect("parse");
    assert_eq!(g.version(), 2);
    assert_eq!(g.alignment(), 64);
    for name in ["a", "b"] {
        let t = g.tensor(name).expect("tensor");
        assert_eq!(t.shape, vec![2, 3], "{name}: ne = [3, 2] is 2 rows of 3");
        assert_eq!(t.data, vals, "{name}");
    }
    assert_eq!(g.tensor("c").expect("c").data, vals);
    assert_eq!(g.tensor_info("b").map(|i| i.nbytes), Some(12));
    assert_eq!(
        g.tensor_info("c").map(|i| i.ggml_type),
        Some(GgmlType::BF16)
    );
}

/// A block-quantized tensor and what gguf-py's `dequantize` gives for it: the sum, the sum
/// weighted by position (1-based), and some values.
struct Reference {
    ty: GgmlType,
    numel: u64,
    hex: &'static str,
    sum: f64,
    weighted: f64,
    samples: &'static [(usize, f32)],
}

/// Values printed by numpy at full f64 precision (more digits than an f32 holds).
/// Made by numpy's `default_rng(7)` (random bytes, f16 scales in a sane range) and
/// `gguf.quants.dequantize` of gguf-py 0.19.
#[allow(clippy::excessive_precision)]
const REFERENCES: &[Reference] = &[
    Reference {
        ty: GgmlType::Q8_0,
        numel: 64,
        hex: "0c28956a26afbccdafe562f90a945f5693c642276ad5ab2da7394551370e99b2d74c9b2970aca1e926115901dd06f27f8f063cd25e19a621f9bd0ccc21397c1ec795ca77",
        sum: 3.083648681640625,
        weighted: 338.7392883300781,
        samples: &[(0, -3.3829345703125), (1, 3.351318359375), (17, 1.2330322265625), (31, 2.40283203125), (32, 4.90478515625), (63, 5.211334228515625)],
    },
    Reference {
        ty: GgmlType::Q4_0,
        numel: 64,
        hex: "0f2485527357a2e64647f03e2fb81f223f41d7251ef7677a1f132a818d882195a100b28d",
        sum: -1.9104766845703125,
        weighted: -73.01835632324219,
        samples: &[(0, -0.0475616455078125), (1, -0.095123291015625), (17, -0.0475616455078125), (31, -0.06341552734375), (32, 0.136871337890625), (63, 0.0)],
    },
    Reference {
        ty: GgmlType::Q4_K,
        numel: 256,
        hex: "5f2a1929b72f45b35223479f6e794d57037e2cfde9e15a7789781e3721a557d8e5a703296dcb81db3f65cf9c1bdc5d1d8fc83f0b0bb4db71be572209851d3d24f4c0cf83fe4363f82f4759778955f6ced681cbea7179ced2c8f814a13472ff70ce369d8385452a44f318337f08cd1e614f235d3f83bc45fee9ee0403a79be118544441317c9311f85e0429b19f7ec0e1",
        sum: 3117.5606079101562,
        weighted: 346847.42443847656,
        samples: &[(0, 7.495880126953125), (5, 2.020721435546875), (31, 34.871673583984375), (32, -1.393890380859375), (64, 3.45428466796875), (100, -1.234588623046875), (128, 12.86151123046875), (129, 1.4134521484375), (200, 12.194549560546875), (255, 25.703155517578125)],
    },
    Reference {
        ty: GgmlType::Q6_K,
        numel: 256,
        hex: "56f65a3322e791b880ee995e3f0d307d2fbaf400693a179e0d027ed4e58be7a9ebc28a271d43a78855638144eb6603f7b2725de11fe6ac2f88a68182869793f0aad6ded8116e3ab51681c4a374fec70a68b3e4bdc92b387987416c17ec90963ec766888ab4b80eba7c5cfd81121bea9cee1810dfd5169faf26cd7b5c30c8aba44d972299e8c7b41b9a1d2b0f180600a974d63b6332202c998e82b2522c49c4394c7d73265b6aaf61b288fbd0aecfa766616223611e764c93aa388ffabd0a6a6412b209971e2d827076f7e49ab8fa1972181f",
        sum: 49.55926513671875,
        weighted: -13445.732055664062,
        samples: &[(0, -1.2469482421875), (5, 2.86798095703125), (31, 3.78240966796875), (32, 1.683380126953125), (64, -5.61126708984375), (100, -14.83868408203125), (128, -17.9837646484375), (129, -8.1744384765625), (200, -8.479248046875), (255, -4.7384033203125)],
    },
];

#[test]
fn block_types_match_gguf_py() {
    for r in REFERENCES {
        let mut f = GgufFile::new();
        f.tensors
            .push(TestTensor::raw("q", &[r.numel], r.ty.0, hex(r.hex)));
        let g = f.parse().expect("parse");
        let t = g.tensor("q").expect("dequantize");
        let name = r.ty.name().unwrap_or("?");
        assert_eq!(t.data.len() as u64, r.numel, "{name}");
        for &(i, v) in r.samples {
            assert_eq!(t.data[i], v, "{name}[{i}]");
        }
        let sum: f64 = t.data.iter().map(|&v| f64::from(v)).sum();
        let weighted: f64 = t
            .data
            .iter()
            .enumerate()
            .map(|(i, &v)| (i + 1) as f64 * f64::from(v))
            .sum();
        assert!(
            (sum - r.sum).abs() <= 1e-9 * r.sum.abs().max(1.0),
            "{name}: sum {sum} vs {}",
            r.sum
        );
        assert!(
            (weighted - r.weighted).abs() <= 1e-9 * r.weighted.abs().max(1.0),
            "{name}: weighted sum {weighted} vs {}",
            r.weighted
        );
    }
}

#[test]
fn type_table_matches_ggml() {
    // (id, elements per block, bytes per block) from gguf-py's GGML_QUANT_SIZES
    for (id, block, size) in [
        (0, 1, 4),
        (1, 1, 2),
        (8, 32, 34),
        (2, 32, 18),
        (12, 256, 144),
        (14, 256, 210),
        (30, 1, 2),
        (13, 256, 176),
        (23, 256, 136),
        (39, 32, 17),
    ] {
        assert_eq!(GgmlType(id).block(), Some((block, size)), "type {id}");
    }
    for id in [4, 5, 31, 32, 33, 36, 1000] {
        assert_eq!(GgmlType(id).block(), None, "type {id} has no layout");
    }
    assert!(GgmlType::Q8_0.is_supported() && !GgmlType(13).is_supported());
}
