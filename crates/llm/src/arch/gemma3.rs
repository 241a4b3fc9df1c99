//! Gemma 3 text (`Gemma3ForCausalLM`): `√d`-scaled embedding, `(1 + w)` RMSNorms before and
//! after attention and MLP, QK-norm, RoPE with a local base on sliding-window layers and a
//! global base on full-attention layers, grouped-query attention, GeGLU, tied head.

use zkinfer_model::graph::TensorId;
use zkinfer_model::ops::{BinaryKind, UnaryFn};

use super::Builder;
use crate::error::{LlmError, Result};

/// Embedding through the last block; returns the hidden states `[len, d]`.
pub(super) fn body(b: &mut Builder, ids: TensorId) -> Result<TensorId> {
    let (len, d) = (b.len, b.cfg.hidden);
    let (h, kv, hd) = (b.cfg.heads, b.cfg.kv_heads, b.cfg.head_dim);
    let missing = || LlmError::Config("Gemma 3 without RoPE parameters".into());
    let global = b.cfg.rope_global.clone().ok_or_else(missing)?;
    let local = b.cfg.rope_local.clone().ok_or_else(missing)?;
    let s = vec![len, d];
    let e = b.embed("model.embed_tokens.weight", ids)?;
    // transformers multiplies by √d cast to the weights' dtype.
    let mut x = b.unary(UnaryFn::Scale((d as f32).sqrt()), e, s.clone());
    for l in 0..b.cfg.layers {
        let p = format!("model.layers.{l}");
        let is_local = b.cfg.local_layers.get(l).copied().unwrap_or(false);
        let (rope, window) = if is_local {
            (&local, b.cfg.sliding_window)
        } else {
            (&global, None)
        };
        let a = b.rms_norm(x, s.clone(), &format!("{p}.input_layernorm.weight"), true)?;
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
        let q = b.rms_norm(
            q,
            vec![len, h, hd],
            &format!("{p}.self_attn.q_norm.weight"),
            true,
        )?;
        let k = b.rms_norm(
            k,
            vec![len, kv, hd],
            &format!("{p}.self_attn.k_norm.weight"),
            true,
        )?;
        let (q, k) = (b.rope(q, h, rope), b.rope(k, kv, rope));
        let o = b.attention(q, k, v, window);
        let o = b.linear(
            o,
            len,
            &format!("{p}.self_attn.o_proj.weight"),
            h * hd,
            d,
            None,
        )?;
        let o = b.rms_norm(
            o,
            s.clone(),
            &format!("{p}.post_attention_layernorm.weight"),
            true,
        )?;
        x = b.binary(BinaryKind::Add, x, o, s.clone());
        let m = b.rms_norm(
            x,
            s.clone(),
            &format!("{p}.pre_feedforward_layernorm.weight"),
            true,
        )?;
        let m = b.gated_mlp(m, &format!("{p}.mlp"), UnaryFn::GeluTanh)?;
        let m = b.rms_norm(
            m,
            s.clone(),
            &format!("{p}.post_feedforward_layernorm.weight"),
            true,
        )?;
        x = b.binary(BinaryKind::Add, x, m, s.clone());
    }
    Ok(x)
}
