//! Llama (`LlamaForCausalLM`, Llama 2 and 3.x): RMSNorm, RoPE (incl. `llama3` scaling),
//! grouped-query attention, SwiGLU, untied or tied head (in `arch::build`).

use zkinfer_model::graph::TensorId;
use zkinfer_model::ops::{BinaryKind, UnaryFn};

use super::Builder;
use crate::error::{LlmError, Result};

/// Embedding through the last block; returns the hidden states `[len, d]`.
pub(super) fn body(b: &mut Builder, ids: TensorId) -> Result<TensorId> {
    let (len, d) = (b.len, b.cfg.hidden);
    let (h, kv, hd) = (b.cfg.heads, b.cfg.kv_heads, b.cfg.head_dim);
    let rope = b
        .cfg
        .rope_global
        .clone()
        .ok_or_else(|| LlmError::Config("Llama without RoPE parameters".into()))?;
    let s = vec![len, d];
    let mut x = b.embed("model.embed_tokens.weight", ids)?;
    for l in 0..b.cfg.layers {
        let p = format!("model.layers.{l}");
        let a = b.rms_norm(x, s.clone(), &format!("{p}.input_layernorm.weight"), false)?;
        let q = b.linear(
            a,
            len,
            &format!("{p}.self_attn.q_proj.weight"),
            d,
            h * hd,
            None,
        )?;
        let k = b.linear(
            a,
            len,
            &format!("{p}.self_attn.k_proj.weight"),
            d,
            kv * hd,
            None,
        )?;
        let v = b.linear(
            a,
            len,
            &format!("{p}.self_attn.v_proj.weight"),
            d,
            kv * hd,
            None,
        )?;
        let (q, k, v) = (
            b.split_heads(q, h),
            b.split_heads(k, kv),
            b.split_heads(v, kv),
        );
        let (q, k) = (b.rope(q, h, &rope), b.rope(k, kv, &rope));
        let o = b.attention(q, k, v, None);
        let o = b.linear(
            o,
            len,
            &format!("{p}.self_attn.o_proj.weight"),
            h * hd,
            d,
            None,
        )?;
        x = b.binary(BinaryKind::Add, x, o, s.clone());
        let m = b.rms_norm(
            x,
            s.clone(),
            &format!("{p}.post_attention_layernorm.weight"),
            false,
        )?;
        let m = b.gated_mlp(m, &format!("{p}.mlp"), UnaryFn::Silu)?;
        x = b.binary(BinaryKind::Add, x, m, s.clone());
    }
    Ok(x)
}
