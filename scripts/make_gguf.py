#!/usr/bin/env python3
"""Converts zkinfer's tiny Hugging Face LLM fixtures to GGUF, the way llama.cpp does.

For each fixture directory examples/llm/<name>/ (gpt2, llama, gemma3; those present) writes
examples/llm/<name>/model.gguf with the conventions of llama.cpp's convert_hf_to_gguf.py:

  * tensor names from gguf-py's TensorNameMap (token_embd, blk.N.attn_q, output_norm, ...);
  * GPT-2: the Conv1D weights (c_attn, c_proj, c_fc) transposed to [out, in]; the attention
    mask buffers dropped; feed_forward_length = 4 * n_embd;
  * Llama: the rows of q_proj / k_proj permuted per head for llama.cpp's RoPE (pairs (i, i+d/2)
    made adjacent), `llama3` RoPE scaling written as the `rope_freqs.weight` factor tensor;
  * Gemma 3: every `*norm.weight` stored as 1 + w, the token embedding cut to the tokenizer's
    vocabulary, `rope.freq_base` (global) and `rope.freq_base_swa` (local), `sliding_window`;
  * 1-D tensors and norms in F32; the tokenizer as `tokenizer.ggml.model = "gpt2"` (byte-level
    BPE: tokens, token types, merges, special ids, add_bos/add_eos from gguf-py's SpecialVocab).

Tensor types are chosen to exercise the reader: gpt2 all F32; llama Q8_0 for 2-D weights;
gemma3 BF16 for 2-D weights.

Three deliberate differences from convert_hf_to_gguf.py, all so that the GGUF computes what the
Hugging Face checkpoint computes (the point of these fixtures):

  * The llama3 `rope_freqs` factors use `original_max_position_embeddings` from the RoPE
    parameters (transformers 5 keeps it inside `rope_parameters`); the upstream converter reads
    only the top-level config key and otherwise assumes 8192, which would be wrong here (64).
  * Gemma 3: llama.cpp hard-codes a sliding-window pattern of 6 (5 local layers, then a global
    one). The fixture alternates local/global, so the per-layer pattern is also written as the
    standard key `gemma3.attention.sliding_window_pattern` (bool array, true = sliding window).
  * The BPE pre-tokenizer name is set to `gpt-2` (the fixtures use the GPT-2 byte-level regex);
    upstream identifies it by hashing the tokenizer's output on a test text, which does not
    know these toy tokenizers.

Usage: python3 scripts/make_gguf.py [name ...]      (needs: gguf, safetensors, torch, numpy)
"""
import json
import math
import os
import sys

import numpy as np
import torch
from safetensors import safe_open

import gguf

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "llm"))
NAMES = ["gpt2", "llama", "gemma3"]
Q = gguf.GGMLQuantizationType

# Per fixture: the llama.cpp architecture and the type of 2-D weight matrices.
PLAN = {
    "gpt2": (gguf.MODEL_ARCH.GPT2, Q.F32, gguf.LlamaFileType.ALL_F32),
    "llama": (gguf.MODEL_ARCH.LLAMA, Q.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "gemma3": (gguf.MODEL_ARCH.GEMMA3, Q.BF16, gguf.LlamaFileType.MOSTLY_BF16),
}


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def rope_params(cfg):
    """The RoPE parameters (transformers 5 `rope_parameters`, else v4 `rope_scaling` + top level)."""
    p = dict(cfg.get("rope_parameters") or cfg.get("rope_scaling") or {})
    if "rope_type" not in p and "type" in p:
        p["rope_type"] = p["type"]
    if "full_attention" not in p and "sliding_attention" not in p:
        if "rope_theta" not in p and cfg.get("rope_theta") is not None:
            p["rope_theta"] = cfg["rope_theta"]
        if "original_max_position_embeddings" not in p and cfg.get("original_max_position_embeddings"):
            p["original_max_position_embeddings"] = cfg["original_max_position_embeddings"]
    return p


# ----------------------------------------------------------------------------- tokenizer


def looks_special(tok):
    # convert_hf_to_gguf's heuristic for added tokens that should be CONTROL
    return (
        tok in ("<pad>", "<mask>", "<2mass>", "[@BOS@]")
        or (tok.startswith("<|") and tok.endswith("|>"))
        or (tok.startswith("<unused") and tok.endswith(">"))
    )


def add_gpt2_vocab(w, d, vocab_size, pre):
    """tokenizer.ggml.* of a byte-level BPE tokenizer.json, in id order up to vocab_size."""
    tj = load_json(os.path.join(d, "tokenizer.json"))
    assert tj["model"]["type"] == "BPE", tj["model"]["type"]
    by_id = {i: t for t, i in tj["model"]["vocab"].items()}
    added = {a["id"]: a for a in tj.get("added_tokens", [])}
    for i, a in added.items():
        by_id[i] = a["content"]
    assert max(by_id) < vocab_size, (max(by_id), vocab_size)
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in added:
            tok = by_id[i]
            if added[i].get("special") or looks_special(tok):
                types.append(gguf.TokenType.CONTROL)
            else:
                types.append(gguf.TokenType.USER_DEFINED)
            tokens.append(tok)
        else:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.NORMAL)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    special = gguf.SpecialVocab(d, load_merges=True, n_vocab=len(tokens))
    special.add_to_gguf(w)
    return len(tj["model"]["vocab"]) + len(tj.get("added_tokens", []))


# ----------------------------------------------------------------------------- tensors


def llama_permute(w, n_head, n_head_kv):
    """convert_hf_to_gguf's LlamaModel.permute: per head, rows [2, d/2] -> [d/2, 2]."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_rope_factors(p, head_dim):
    base = p.get("rope_theta", 10000.0)
    freqs = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    factor = p.get("factor", 8.0)
    low = p.get("low_freq_factor", 1.0)
    high = p.get("high_freq_factor", 4.0)
    old_ctx = p.get("original_max_position_embeddings", 8192)
    low_wl, high_wl = old_ctx / low, old_ctx / high
    out = []
    for f in freqs:
        wl = 2 * math.pi / f
        if wl < high_wl:
            out.append(1.0)
        elif wl > low_wl:
            out.append(factor)
        else:
            s = (old_ctx / wl - low) / (high - low)
            out.append(1.0 / ((1 - s) / factor + s))
    return np.array(out, dtype=np.float32)


def add_tensor(w, name, data, qtype):
    """F32 for 1-D tensors and norms (as upstream), else `qtype`."""
    data = np.ascontiguousarray(data, dtype=np.float32)
    if data.ndim <= 1 or name.endswith("_norm.weight"):
        qtype = Q.F32
    if qtype == Q.F32:
        w.add_tensor(name, data)
    else:
        q = gguf.quants.quantize(data, qtype)
        w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=qtype)
    return qtype


def convert(name):
    d = os.path.join(ROOT, name)
    cfg = load_json(os.path.join(d, "config.json"))
    arch, qtype, ftype = PLAN[name]
    arch_name = gguf.MODEL_ARCH_NAMES[arch]
    out = os.path.join(d, "model.gguf")
    w = gguf.GGUFWriter(out, arch_name)
    w.add_name(f"zkinfer-{name}")

    n_layer = cfg.get("n_layer", cfg.get("num_hidden_layers"))
    tmap = gguf.get_tensor_name_map(arch, n_layer)
    w.add_block_count(n_layer)
    w.add_file_type(ftype)
    if qtype in (Q.Q8_0,):
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    rp = rope_params(cfg)
    full, kind, head_dim = {}, None, None
    if name == "gpt2":
        w.add_context_length(cfg.get("n_ctx", cfg["n_positions"]))
        w.add_embedding_length(cfg["n_embd"])
        w.add_feed_forward_length(4 * cfg["n_embd"])
        w.add_head_count(cfg["n_head"])
        w.add_layer_norm_eps(cfg["layer_norm_epsilon"])
    else:
        head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
        full = rp.get("full_attention", rp)
        w.add_context_length(cfg["max_position_embeddings"])
        w.add_embedding_length(cfg["hidden_size"])
        w.add_feed_forward_length(cfg["intermediate_size"])
        w.add_head_count(cfg["num_attention_heads"])
        w.add_head_count_kv(cfg.get("num_key_value_heads", cfg["num_attention_heads"]))
        w.add_rope_freq_base(full.get("rope_theta", 1_000_000.0 if name == "gemma3" else 10_000.0))
        if (local := rp.get("sliding_attention", {}).get("rope_theta")) is not None:
            w.add_rope_freq_base_swa(local)
        w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
        kind = (full.get("rope_type") or "default").lower()
        if kind == "linear":
            w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            w.add_rope_scaling_factor(full["factor"])
        elif kind not in ("default", "llama3"):
            raise SystemExit(f"{name}: RoPE type {kind} is not handled by this script")
        if name == "llama":
            w.add_vocab_size(cfg["vocab_size"])
            w.add_rope_dimension_count(head_dim)
        if name == "gemma3":
            assert cfg.get("attn_logit_softcapping") is None
            if cfg.get("final_logit_softcapping"):
                w.add_final_logit_softcapping(cfg["final_logit_softcapping"])
            if cfg.get("sliding_window_pattern") != 1:
                w.add_sliding_window(cfg["sliding_window"])
            if cfg.get("layer_types"):
                w.add_sliding_window_pattern([t == "sliding_attention" for t in cfg["layer_types"]])

    # tokenizer (all fixtures: byte-level BPE with the GPT-2 split regex)
    tok_cfg_path = os.path.join(d, "tokenizer_config.json")
    if name == "llama" and os.path.isfile(tok_cfg_path):
        if (aps := load_json(tok_cfg_path).get("add_prefix_space")) is not None:
            w.add_add_space_prefix(aps)
    n_vocab_real = add_gpt2_vocab(w, d, cfg["vocab_size"], "gpt-2")

    types = {}
    if name == "llama" and kind == "llama3":
        types["rope_freqs.weight"] = add_tensor(w, "rope_freqs.weight", llama3_rope_factors(full, head_dim), Q.F32)
    with safe_open(os.path.join(d, "model.safetensors"), framework="pt") as f:
        for hf in f.keys():
            if hf.endswith((".attn.bias", ".attn.masked_bias")):
                continue
            t = f.get_tensor(hf).to(torch.float32)
            if name == "gpt2" and hf.endswith((".c_attn.weight", ".c_proj.weight", ".c_fc.weight")):
                t = t.transpose(1, 0)
            if name == "llama":
                if hf.endswith(("q_proj.weight", "q_proj.bias")):
                    t = llama_permute(t, cfg["num_attention_heads"], cfg["num_attention_heads"])
                if hf.endswith(("k_proj.weight", "k_proj.bias")):
                    t = llama_permute(t, cfg["num_attention_heads"], cfg.get("num_key_value_heads"))
            if name == "gemma3":
                if "embed_tokens.weight" in hf:
                    t = t[:n_vocab_real]
                if hf.endswith("norm.weight"):
                    t = t + 1.0
            gg = tmap.get_name(hf, try_suffixes=(".weight", ".bias"))
            if gg is None:
                raise SystemExit(f"{name}: no llama.cpp name for {hf}")
            types[gg] = add_tensor(w, gg, t.numpy(), qtype)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    counts = {}
    for q in types.values():
        counts[q.name] = counts.get(q.name, 0) + 1
    print(f"{os.path.relpath(out)}: {len(types)} tensors {counts}, {os.path.getsize(out)} bytes")


def main():
    names = sys.argv[1:] or [n for n in NAMES if os.path.isfile(os.path.join(ROOT, n, "config.json"))]
    for n in names:
        if n not in PLAN:
            raise SystemExit(f"unknown fixture {n} (known: {', '.join(NAMES)})")
        convert(n)


if __name__ == "__main__":
    main()
