//! The Hugging Face view of a GGUF file: the configuration rebuilt from metadata (Llama 3 RoPE
//! scaling from `rope_freqs`, Gemma 3 sliding-window layers), and the graph builder's errors
//! for a missing tensor or a tensor of the wrong shape.

use super::fixture;
use super::gguf_write::GgufFile;
use crate::arch::build;
use crate::config::{Llama3Scaling, LlmConfig, Rope};
use crate::error::LlmError;
use crate::formats::gguf::rope_freqs::llama3_from_factors;
use crate::formats::gguf::{Gguf, GgufValue, GgufWeights};

/// The divisors convert_hf_to_gguf.py writes for `llama3` scaling (its formula, in f32).
fn converter_factors(theta: f64, d: usize, s: &Llama3Scaling) -> Vec<f32> {
    let (low_wl, high_wl) = (
        s.original_max_positions / s.low_freq_factor,
        s.original_max_positions / s.high_freq_factor,
    );
    (0..d / 2)
        .map(|i| {
            let f = 1.0 / theta.powf((2 * i) as f64 / d as f64);
            let wl = 2.0 * std::f64::consts::PI / f;
            let r = if wl < high_wl {
                1.0
            } else if wl > low_wl {
                s.factor
            } else {
                let sm = (s.original_max_positions / wl - s.low_freq_factor)
                    / (s.high_freq_factor - s.low_freq_factor);
                1.0 / ((1.0 - sm) / s.factor + sm)
            };
            r as f32
        })
        .collect()
}

fn scaling(factor: f64, low: f64, high: f64, orig: f64) -> Llama3Scaling {
    Llama3Scaling {
        factor,
        low_freq_factor: low,
        high_freq_factor: high,
        original_max_positions: orig,
    }
}

fn inv_freq(theta: f64, d: usize, s: Option<Llama3Scaling>) -> Vec<f64> {
    Rope {
        theta,
        llama3: s,
        linear_factor: 1.0,
    }
    .inv_freq(d)
}

#[test]
fn llama3_scaling_is_recovered_from_rope_freqs() {
    // (theta, head_dim, scaling, intermediate frequencies): Llama 3.1, the fixture, and cases
    // with one and with no intermediate frequency
    let cases = [
        (500_000.0, 128, scaling(8.0, 1.0, 4.0, 8192.0), true),
        (10_000.0, 16, scaling(8.0, 1.0, 4.0, 64.0), true),
        (10_000.0, 16, scaling(8.0, 1.0, 2.0, 64.0), false),
        (10_000.0, 16, scaling(4.0, 1.0, 1.5, 30.0), false),
        (10_000.0, 16, scaling(32.0, 2.0, 8.0, 400.0), false),
    ];
    for (theta, d, s, exact) in cases {
        let factors = converter_factors(theta, d, &s);
        let got = llama3_from_factors(theta, d, &factors)
            .expect("recover")
            .expect("scaled");
        let want = inv_freq(theta, d, Some(s.clone()));
        let have = inv_freq(theta, d, Some(got.clone()));
        for (i, (a, b)) in have.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6 * b,
                "θ {theta} d {d} {s:?}: freq {i} {a} vs {b} ({got:?})"
            );
        }
        if exact {
            // with low_freq_factor 1 and two or more intermediate points the numbers come back
            assert_eq!(got, s);
        }
    }
}

#[test]
fn rope_freqs_that_are_not_llama3_are_refused() {
    assert_eq!(
        llama3_from_factors(10_000.0, 16, &[1.0; 8]).expect("ones"),
        None
    );
    for bad in [
        vec![1.0, 3.0, 1.0, 8.0, 8.0, 8.0, 8.0, 8.0],
        vec![1.0, 1.0, 1.5, 1.2, 8.0, 8.0, 8.0, 8.0],
        vec![1.0; 7],
        vec![0.5; 8],
        vec![f32::NAN; 8],
    ] {
        match llama3_from_factors(10_000.0, 16, &bad) {
            Err(LlmError::Unsupported(m)) => assert!(m.contains("rope_freqs"), "{m}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

fn open_fixture(name: &str) -> GgufFile {
    let g = Gguf::open(&fixture(name, "model.gguf")).expect("fixture GGUF (scripts/make_gguf.py)");
    GgufFile::from_gguf(&g)
}

fn config_of(f: &GgufFile) -> crate::Result<LlmConfig> {
    let w = GgufWeights::new(f.parse()?)?;
    LlmConfig::from_json(&w.hf_config()?)
}

fn set_kv(f: &mut GgufFile, key: &str, v: Option<GgufValue>) {
    f.kv.retain(|(k, _, _)| k != key);
    if let Some(v) = v {
        f.kv(key, v);
    }
}

#[test]
fn gemma3_sliding_window_layers() {
    if !fixture("gemma3", "model.gguf").exists() {
        return;
    }
    let key = "gemma3.attention.sliding_window_pattern";
    let mut f = open_fixture("gemma3");
    assert_eq!(
        config_of(&f).expect("config").local_layers,
        [true, false, true, false]
    );
    // llama.cpp's default: period 6
    set_kv(&mut f, key, None);
    let c = config_of(&f).expect("config");
    assert_eq!(c.local_layers, [true; 4]);
    assert_eq!(c.sliding_window, Some(8));
    set_kv(&mut f, key, Some(GgufValue::U32(2)));
    assert_eq!(
        config_of(&f).expect("config").local_layers,
        [true, false, true, false]
    );
    set_kv(
        &mut f,
        key,
        Some(GgufValue::Array(vec![GgufValue::Bool(true); 3])),
    );
    assert!(
        matches!(config_of(&f), Err(LlmError::Config(m)) if m.contains("3 entries for 4 layers"))
    );
    set_kv(&mut f, key, Some(GgufValue::U32(0)));
    assert!(matches!(config_of(&f), Err(LlmError::Config(m)) if m.contains(key)));
    // no window: every layer global
    set_kv(&mut f, key, None);
    set_kv(
        &mut f,
        "gemma3.attention.sliding_window",
        Some(GgufValue::U32(0)),
    );
    let c = config_of(&f).expect("config");
    assert_eq!((c.local_layers, c.sliding_window), (vec![false; 4], None));
}

#[test]
fn a_missing_tensor_is_named() {
    let mut f = open_fixture("gpt2");
    f.remove_tensor("blk.1.ffn_down.weight");
    let cfg = config_of(&f).expect("config");
    let w = GgufWeights::new(f.parse().expect("parse")).expect("weights");
    match build(&cfg, &w, 8, 1) {
        Err(LlmError::MissingTensor { name }) => {
            assert_eq!(name, "transformer.h.1.mlp.c_proj.weight")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_tensor_of_the_wrong_shape_is_named() {
    let mut f = open_fixture("gpt2");
    let t = f.tensor_mut("position_embd.weight");
    t.dims = vec![64, 100];
    t.data.truncate(64 * 100 * 4);
    let cfg = config_of(&f).expect("config");
    let w = GgufWeights::new(f.parse().expect("parse")).expect("weights");
    match build(&cfg, &w, 8, 1) {
        Err(LlmError::BadShape {
            name,
            got,
            expected,
        }) => {
            assert_eq!(name, "transformer.wpe.weight");
            assert_eq!((got, expected), (vec![100, 64], vec![128, 64]));
        }
        other => panic!("{other:?}"),
    }
    if !fixture("llama", "model.gguf").exists() {
        return;
    }
    // Llama k_proj with the q_proj shape (still splits into kv heads, so the view accepts it)
    let mut f = open_fixture("llama");
    let t = f.tensor_mut("blk.0.attn_k.weight");
    t.dims = vec![64, 64];
    t.data.resize(64 * 64 * 4, 0);
    let cfg = config_of(&f).expect("config");
    let w = GgufWeights::new(f.parse().expect("parse")).expect("weights");
    match build(&cfg, &w, 8, 1) {
        Err(LlmError::BadShape {
            name,
            got,
            expected,
        }) => {
            assert_eq!(name, "model.layers.0.self_attn.k_proj.weight");
            assert_eq!((got, expected), (vec![64, 64], vec![32, 64]));
        }
        other => panic!("{other:?}"),
    }
}
