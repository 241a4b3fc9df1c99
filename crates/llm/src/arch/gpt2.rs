//! GPT-2 (`GPT2LMHeadModel`): learned positions, pre-LayerNorm blocks, fused QKV `Conv1D`,
//! GELU-tanh MLP, tied head (in `arch::build`).

use zkinfer_model::graph::TensorId;
use zkinfer_model::ops::{BinaryKind, FloatOp, UnaryFn};

use super::Builder;
use crate::error::Result;

/// Embedding through the last block; returns the hidden states `[len, d]`.
pub(super) fn body(b: &mut Builder, ids: TensorId) -> Result<TensorId> {
    let (len, d, h) = (b.len, b.cfg.hidden, b.cfg.heads);
    let s = vec![len, d];
    let tok = b.embed("transformer.wte.weight", ids)?;
    let wpe = b.weight("transformer.wpe.weight", &[b.cfg.max_positions, d])?;
    let pos = b.node(
        "positions",
        FloatOp::Slice {
            axis: 0,
            start: 0,
            step: 1,
        },
        vec![wpe],
        s.clone(),
    );
    let mut x = b.binary(BinaryKind::Add, tok, pos, s.clone());
    for l in 0..b.cfg.layers {
        let p = format!("transformer.h.{l}");
        let a = b.layer_norm(x, len, &format!("{p}.ln_1"))?;
        let qkv = b.conv1d(a, len, &format!("{p}.attn.c_attn"), d, 3 * d)?;
        let part = |b: &mut Builder, k: usize| {
            b.node(
                "qkv.split",
                FloatOp::Slice {
                    axis: 1,
                    start: k * d,
                    step: 1,
                },
                vec![qkv],
                vec![len, d],
            )
        };
        let (q, k, v) = (part(b, 0), part(b, 1), part(b, 2));
        let (q, k, v) = (
            b.split_heads(q, h),
            b.split_heads(k, h),
            b.split_heads(v, h),
        );
        let o = b.attention(q, k, v, None);
        let o = b.conv1d(o, len, &format!("{p}.attn.c_proj"), d, d)?;
        x = b.binary(BinaryKind::Add, x, o, s.clone());
        let m = b.layer_norm(x, len, &format!("{p}.ln_2"))?;
        let i = b.cfg.intermediate;
        let m = b.conv1d(m, len, &format!("{p}.mlp.c_fc"), d, i)?;
        let m = b.unary(UnaryFn::GeluTanh, m, vec![len, i]);
        let m = b.conv1d(m, len, &format!("{p}.mlp.c_proj"), i, d)?;
        x = b.binary(BinaryKind::Add, x, m, s.clone());
    }
    Ok(x)
}
