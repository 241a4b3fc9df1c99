//! [`GgufWeights`]: the tensors of a GGUF file under Hugging Face names and values.

use std::collections::BTreeMap;
use std::path::Path;

use super::Gguf;
use crate::error::{LlmError, Result};
use crate::formats::{Tensor, WeightSource};

/// The architectures [`GgufWeights`] presents under Hugging Face names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GgufArch {
    /// `gpt2` → `GPT2LMHeadModel`.
    Gpt2,
    /// `llama` → `LlamaForCausalLM`.
    Llama,
    /// `gemma3` → `Gemma3ForCausalLM`.
    Gemma3,
}

impl GgufArch {
    /// The `general.architecture` value.
    pub fn gguf_name(self) -> &'static str {
        match self {
            GgufArch::Gpt2 => "gpt2",
            GgufArch::Llama => "llama",
            GgufArch::Gemma3 => "gemma3",
        }
    }

    fn from_gguf_name(s: &str) -> Option<Self> {
        match s {
            "gpt2" => Some(GgufArch::Gpt2),
            "llama" => Some(GgufArch::Llama),
            "gemma3" => Some(GgufArch::Gemma3),
            _ => None,
        }
    }
}

/// How a GGUF tensor's values differ from the Hugging Face tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fix {
    /// Identical.
    None,
    /// GPT-2 Conv1D weight: HF stores `[in, out]`, the converter transposed it to `[out, in]`.
    Transpose,
    /// Llama q/k: the converter permuted the rows within each of `heads` heads for RoPE.
    Unpermute { heads: usize },
    /// Gemma norm weight: the converter stored `w + 1`.
    MinusOne,
}

#[derive(Clone, Debug)]
pub(super) struct Mapped {
    gguf_name: String,
    fix: Fix,
}

/// A GGUF file of a supported architecture, presenting Hugging Face tensor names and values.
pub struct GgufWeights {
    pub(super) gguf: Gguf,
    pub(super) arch: GgufArch,
    pub(super) map: BTreeMap<String, Mapped>,
    pub(super) unmapped: Vec<String>,
}

impl std::fmt::Debug for GgufWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufWeights")
            .field("gguf", &self.gguf)
            .field("arch", &self.arch)
            .field("tensors", &self.map.len())
            .field("unmapped", &self.unmapped)
            .finish()
    }
}

/// The Hugging Face name of a llama.cpp per-layer tensor stem, per architecture.
fn hf_layer_stem(arch: GgufArch, stem: &str) -> Option<&'static str> {
    Some(match arch {
        GgufArch::Gpt2 => match stem {
            "attn_norm" => "ln_1",
            "attn_qkv" => "attn.c_attn",
            "attn_output" => "attn.c_proj",
            "ffn_norm" => "ln_2",
            "ffn_up" => "mlp.c_fc",
            "ffn_down" => "mlp.c_proj",
            _ => return None,
        },
        GgufArch::Llama | GgufArch::Gemma3 => match (stem, arch) {
            ("attn_norm", _) => "input_layernorm",
            ("attn_q", _) => "self_attn.q_proj",
            ("attn_k", _) => "self_attn.k_proj",
            ("attn_v", _) => "self_attn.v_proj",
            ("attn_output", _) => "self_attn.o_proj",
            ("ffn_gate", _) => "mlp.gate_proj",
            ("ffn_up", _) => "mlp.up_proj",
            ("ffn_down", _) => "mlp.down_proj",
            ("ffn_norm", GgufArch::Llama) => "post_attention_layernorm",
            ("ffn_norm", GgufArch::Gemma3) => "pre_feedforward_layernorm",
            ("post_attention_norm", GgufArch::Gemma3) => "post_attention_layernorm",
            ("post_ffw_norm", GgufArch::Gemma3) => "post_feedforward_layernorm",
            ("attn_q_norm", GgufArch::Gemma3) => "self_attn.q_norm",
            ("attn_k_norm", GgufArch::Gemma3) => "self_attn.k_norm",
            _ => return None,
        },
    })
}

/// The Hugging Face name of a llama.cpp tensor name, if it has one.
fn hf_name(arch: GgufArch, name: &str) -> Option<String> {
    let (base, suffix) = name.rsplit_once('.')?;
    if suffix != "weight" && suffix != "bias" {
        return None;
    }
    if let Some(rest) = base.strip_prefix("blk.") {
        let (layer, stem) = rest.split_once('.')?;
        let n: usize = layer.parse().ok()?;
        if n.to_string() != layer {
            return None; // only canonical numbers, so that no two names map to one
        }
        let hf = hf_layer_stem(arch, stem)?;
        return Some(match arch {
            GgufArch::Gpt2 => format!("transformer.h.{n}.{hf}.{suffix}"),
            _ => format!("model.layers.{n}.{hf}.{suffix}"),
        });
    }
    let hf = match (arch, base) {
        (GgufArch::Gpt2, "token_embd") => "transformer.wte",
        (GgufArch::Gpt2, "position_embd") => "transformer.wpe",
        (GgufArch::Gpt2, "output_norm") => "transformer.ln_f",
        (_, "output") => "lm_head",
        (GgufArch::Llama | GgufArch::Gemma3, "token_embd") => "model.embed_tokens",
        (GgufArch::Llama | GgufArch::Gemma3, "output_norm") => "model.norm",
        _ => return None,
    };
    Some(format!("{hf}.{suffix}"))
}

impl GgufWeights {
    /// Opens a GGUF file of architecture `gpt2`, `llama` or `gemma3`.
    pub fn open(path: &Path) -> Result<Self> {
        Self::new(Gguf::open(path)?)
    }

    /// Wraps a parsed GGUF file of a supported architecture.
    pub fn new(gguf: Gguf) -> Result<Self> {
        let arch_name = gguf.architecture().ok_or_else(|| LlmError::Format {
            file: gguf.file.clone(),
            reason: "no string `general.architecture`".into(),
        })?;
        let arch = GgufArch::from_gguf_name(arch_name).ok_or_else(|| {
            LlmError::Unsupported(format!(
                "GGUF architecture `{arch_name}` (supported: gpt2, llama, gemma3)"
            ))
        })?;
        let fmt = |reason: String| LlmError::Format {
            file: gguf.file.clone(),
            reason,
        };
        let (n_head, n_head_kv) = if arch == GgufArch::Llama {
            let h = meta_usize(&gguf, "llama.attention.head_count")?;
            let kv = meta_usize(&gguf, "llama.attention.head_count_kv")?;
            (h, kv.or(h))
        } else {
            (None, None)
        };
        let mut map = BTreeMap::new();
        let mut unmapped = Vec::new();
        for info in &gguf.tensors {
            let Some(hf) = hf_name(arch, &info.name) else {
                unmapped.push(info.name.clone());
                continue;
            };
            let fix = match arch {
                GgufArch::Gpt2
                    if hf.ends_with(".weight")
                        && info.dims.len() == 2
                        && info.name.starts_with("blk.") =>
                {
                    Fix::Transpose
                }
                GgufArch::Llama
                    if hf.ends_with("self_attn.q_proj.weight")
                        || hf.ends_with("self_attn.q_proj.bias") =>
                {
                    let heads = n_head.ok_or_else(|| {
                        fmt("llama.attention.head_count is needed to un-permute q_proj".into())
                    })?;
                    Fix::Unpermute { heads }
                }
                GgufArch::Llama
                    if hf.ends_with("self_attn.k_proj.weight")
                        || hf.ends_with("self_attn.k_proj.bias") =>
                {
                    let heads = n_head_kv.ok_or_else(|| {
                        fmt("llama.attention.head_count(_kv) is needed to un-permute k_proj".into())
                    })?;
                    Fix::Unpermute { heads }
                }
                GgufArch::Gemma3 if hf.ends_with("norm.weight") => Fix::MinusOne,
                _ => Fix::None,
            };
            if let Fix::Unpermute { heads } = fix {
                let rows = info.shape().first().copied().unwrap_or(0);
                if heads
                    .checked_mul(2)
                    .is_none_or(|h2| h2 == 0 || rows % h2 != 0)
                {
                    return Err(fmt(format!(
                        "tensor `{}`: {rows} rows do not split into {heads} heads of even size",
                        info.name
                    )));
                }
            }
            if map
                .insert(
                    hf.clone(),
                    Mapped {
                        gguf_name: info.name.clone(),
                        fix,
                    },
                )
                .is_some()
            {
                return Err(fmt(format!("two tensors map to `{hf}`")));
            }
        }
        Ok(GgufWeights {
            gguf,
            arch,
            map,
            unmapped,
        })
    }

    /// The underlying GGUF file.
    pub fn gguf(&self) -> &Gguf {
        &self.gguf
    }

    /// The architecture.
    pub fn arch(&self) -> GgufArch {
        self.arch
    }

    /// The llama.cpp names of tensors without a Hugging Face counterpart (e.g. `rope_freqs.weight`).
    pub fn unmapped(&self) -> &[String] {
        &self.unmapped
    }

    /// The llama.cpp name behind a Hugging Face name.
    pub fn gguf_name(&self, hf_name: &str) -> Option<&str> {
        self.map.get(hf_name).map(|m| m.gguf_name.as_str())
    }
}

fn meta_usize(g: &Gguf, key: &str) -> Result<Option<usize>> {
    match g.meta(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|x| usize::try_from(x).ok())
            .map(Some)
            .ok_or_else(|| {
                LlmError::Config(format!(
                    "GGUF `{key}` is a {}, expected an unsigned integer",
                    v.type_name()
                ))
            }),
    }
}

/// Undoes `LlamaModel.permute` of convert_hf_to_gguf.py on the rows of `t`.
///
/// The converter reshapes the rows of each head `h` (of `d` rows) as `[2, d/2]`, swaps to
/// `[d/2, 2]` and flattens: GGUF row `h*d + 2*i + j` holds HF row `h*d + j*d/2 + i`.
fn unpermute_rows(t: &mut Tensor, heads: usize) {
    let rows = t.shape.first().copied().unwrap_or(0);
    if rows == 0
        || heads
            .checked_mul(2)
            .is_none_or(|h2| h2 == 0 || rows % h2 != 0)
    {
        return; // checked at open
    }
    let cols = t.data.len() / rows;
    let d = rows / heads;
    let half = d / 2;
    let mut out = vec![0.0f32; t.data.len()];
    for h in 0..heads {
        for i in 0..half {
            for j in 0..2 {
                let src = h * d + 2 * i + j;
                let dst = h * d + j * half + i;
                out[dst * cols..(dst + 1) * cols]
                    .copy_from_slice(&t.data[src * cols..(src + 1) * cols]);
            }
        }
    }
    t.data = out;
}

fn transpose_2d(t: &mut Tensor) {
    if let [r, c] = t.shape[..] {
        let mut out = vec![0.0f32; t.data.len()];
        for i in 0..r {
            for j in 0..c {
                out[j * r + i] = t.data[i * c + j];
            }
        }
        t.data = out;
        t.shape = vec![c, r];
    }
}

impl WeightSource for GgufWeights {
    fn names(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }

    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        let m = self.map.get(name)?;
        let mut s = self.gguf.tensor_info(&m.gguf_name)?.shape();
        if m.fix == Fix::Transpose {
            s.reverse();
        }
        Some(s)
    }

    fn tensor(&self, name: &str) -> Result<Tensor> {
        let m = self.map.get(name).ok_or_else(|| LlmError::MissingTensor {
            name: name.to_string(),
        })?;
        let mut t = self.gguf.tensor(&m.gguf_name)?;
        match m.fix {
            Fix::None => {}
            Fix::Transpose => transpose_2d(&mut t),
            Fix::Unpermute { heads } => unpermute_rows(&mut t, heads),
            Fix::MinusOne => t.data.iter_mut().for_each(|v| *v -= 1.0),
        }
        Ok(t)
    }
}
