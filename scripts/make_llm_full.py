#!/usr/bin/env python3
"""Makes random-weight LLM checkpoints in the real full-size configurations (issue 13).

No hub download: the configurations are built with transformers' own config classes (values of
the published checkpoints' configs, as in scripts/make_llm_configs.py), the models with
`from_config`, and the tokenizers are constructed here. Checkpoints never go in git.

  gpt2-124m   : GPT2LMHeadModel, 12 layers, d 768, 12 heads, n_positions 1024, vocab 50,257,
                tied head, gelu_new.                                                  float32
  gemma3-270m : Gemma3ForCausalLM (Gemma3TextConfig), 18 layers, hidden 640, intermediate 2048,
                4 heads / 1 KV head, head_dim 256, vocab 262,144, sliding window 512, every
                sixth layer global, rope_theta 1e6 global / 1e4 local, query_pre_attn_scalar
                256, max_position_embeddings 32768, tied head.                        bfloat16
  gemma3-1b   : same family, 26 layers, hidden 1152, intermediate 6912.              bfloat16

dtypes: GPT-2 is saved in float32 (as the published GPT-2 checkpoint; ~0.5 GB), Gemma in
bfloat16 (as the published Gemma 3 checkpoints; 0.54 GB and 2.0 GB; float32 would be 4 GB for 1B).
The logit-peakedness figures printed below are measured on the weights as saved (bf16 weights
widened to float32 for the forward pass).

Tokenizers (tokenizer.json + tokenizer_config.json, HF `tokenizers`), byte-level BPE as in
scripts/make_llm_fixtures.py, but with the real vocabulary sizes. The bundled corpus
(examples/llm/corpus.txt, ~22 KB) only yields a few thousand merges, so the vocabulary is
completed deterministically with synthetic merges (an existing token + one letter/space
character), every one a valid merge of two vocabulary entries:
  gpt2-124m   : GPT-2 layout: ids 0..255 the byte alphabet, merges after that, and
                <|endoftext|> = 50256 (BOS = EOS, no BOS added), vocab 50,257.
  gemma3      : Gemma's special-id layout: <pad>=0, <eos>=1, <bos>=2, <unk>=3, then the byte
                alphabet and merges; BOS added; vocab 262,144.

Initialisation: transformers' default init (std 0.02) gives a nearly flat next-token
distribution on random weights (median top-1 margin ~0.07 logits, 0.12 logit std, at vocab
50k-262k), which would make the quantized run disagree with the float one on many positions.
The script scales
  * the token embedding (tied with the LM head) by --embed-scale (default 3: std 0.06), and
  * optionally the final norm's gain by --head-gain (default 1 = transformers' init; GPT-2
    ln_f.weight, Gemma norm.weight stores gain-1; it scales all logits alike, so it does not
    change margin/std),
and prints the measured top-1 margin (median/p10/min over 64 corpus positions), the logit
std, margin/std and the share of positions whose argmax is the input token itself.
Measured on GPT-2 124M (seed below): embed scale 1 -> median margin 0.07 (0.12 std);
2 -> 0.21 (0.19 std); 3 -> 2.6 (1.5 std, p10 0.95, min 0.14); 4 -> 7.7 (3.5 std). Gemma 3
270M: 1 -> 0.06; 2 -> 0.17; 4 -> 7.2. How the peak arises: with a larger tied embedding the
token's own embedding dominates the residual stream and h.e_x stands out of h.e_j by ~sqrt(d),
so the peak is mostly the input token itself (95 % of positions at scale 3 for GPT-2): greedy
generations of these checkpoints tend to repeat a token. That is fine for measuring speed and
quantization fidelity; it is not language.

Usage:
  python3 scripts/make_llm_full.py                       # all three, under target/llm-full/<name>
  python3 scripts/make_llm_full.py gpt2-124m --out-root /tmp/llm
  python3 scripts/make_llm_full.py gemma3-270m --force   # remake one that exists
  python3 scripts/make_llm_full.py gpt2-124m --layers 1  # scaled-down depth: target/llm-full/gpt2-124m-1layer
Needs torch, transformers (5.x; 4.x also works for GPT-2), tokenizers, safetensors.
"""
import argparse
import json
import os
import random
import shutil
import sys
import time

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

import transformers
from transformers import (
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GenerationConfig,
    GPT2Config,
    GPT2LMHeadModel,
)

SEED = 20261301
REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CORPUS = os.path.join(REPO, "examples", "llm", "corpus.txt")
MODELS = ["gpt2-124m", "gemma3-270m", "gemma3-1b"]
SAMPLE = 64  # tokens of the corpus used to measure the logit margin


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ----------------------------------------------------------------------------- tokenizers


def byte_alphabet():
    """GPT-2's bytes_to_unicode order: byte b -> a printable unicode char, ids 0..255."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1)
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


def corpus_merges(text):
    """The merges a byte-level BPE trainer finds on the corpus (as far as pairs repeat)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=100_000,
        min_frequency=2,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([text], trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    merges = []
    for m in model["merges"]:
        a, b = m if isinstance(m, list) else m.split(" ", 1)
        merges.append((a, b))
    return merges


def build_bpe(text, n_merges):
    """Byte alphabet + exactly n_merges merges: the corpus ones first, then synthetic ones."""
    alphabet = byte_alphabet()
    vocab = {}
    for ch in alphabet:
        vocab[ch] = len(vocab)
    merges = []
    for a, b in corpus_merges(text):
        if len(merges) == n_merges:
            break
        if a in vocab and b in vocab and a + b not in vocab:
            vocab[a + b] = len(vocab)
            merges.append((a, b))
    # Synthetic completion: breadth-first, token + one character of a text-like alphabet
    # ("Ġ" is the byte-level space), lowest priority after the corpus merges.
    ext = [c for c in "etaoinshrdlucmfwypvbgkjqxz"] + ["Ġ", ",", ".", "'"]
    queue = list(vocab.keys())
    qi = 0
    while len(merges) < n_merges:
        base = queue[qi]
        qi += 1
        for c in ext:
            if len(merges) == n_merges:
                break
            t = base + c
            if t not in vocab:
                vocab[t] = len(vocab)
                merges.append((base, c))
                queue.append(t)
    return vocab, merges


def gpt2_tokenizer(text, vocab_size):
    # GPT-2: 256 bytes + 50,000 merges + <|endoftext|> (id 50256)
    vocab, merges = build_bpe(text, vocab_size - 256 - 1)
    eot = "<|endoftext|>"
    vocab[eot] = len(vocab)
    assert len(vocab) == vocab_size and vocab[eot] == vocab_size - 1
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.add_special_tokens([eot])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": eot,
        "eos_token": eot,
        "unk_token": eot,
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "model_max_length": 1024,
        "clean_up_tokenization_spaces": False,
    }
    e = vocab[eot]
    return tok, cfg, {"bos": e, "eos": e, "pad": None}


def gemma_tokenizer(text, vocab_size):
    # Gemma's special-id layout: <pad>=0, <eos>=1, <bos>=2, <unk>=3; then bytes + merges.
    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    v, merges = build_bpe(text, vocab_size - 256 - len(specials))
    vocab = {s: i for i, s in enumerate(specials)}
    for t, i in v.items():
        vocab[t] = i + len(specials)
    assert len(vocab) == vocab_size
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.add_special_tokens(specials)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    bos = vocab["<bos>"]
    tok.post_processor = processors.TemplateProcessing(
        single="<bos>:0 $A:0", pair="<bos>:0 $A:0 <bos>:1 $B:1", special_tokens=[("<bos>", bos)]
    )
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<bos>",
        "eos_token": "<eos>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "add_bos_token": True,
        "add_eos_token": False,
        "add_prefix_space": False,
        "model_max_length": 32768,
        "padding_side": "left",
        "clean_up_tokenization_spaces": False,
    }
    return tok, cfg, {"bos": bos, "eos": vocab["<eos>"], "pad": vocab["<pad>"]}


# ----------------------------------------------------------------------------- models


def gemma_config(layers, hidden, inter, ids, vocab=None):
    types = ["sliding_attention" if (i + 1) % 6 else "full_attention" for i in range(layers)]
    c = Gemma3TextConfig(
        vocab_size=vocab or 262144,
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=256,
        max_position_embeddings=32768,
        sliding_window=512,
        layer_types=types,
        query_pre_attn_scalar=256,
        rms_norm_eps=1e-6,
        hidden_activation="gelu_pytorch_tanh",
        # transformers 5: per-layer-type rope parameters (v4: rope_theta + rope_local_base_freq)
        rope_parameters={
            "full_attention": {"rope_type": "default", "rope_theta": 1_000_000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
        },
        final_logit_softcapping=None,
        attn_logit_softcapping=None,
        tie_word_embeddings=True,
        bos_token_id=ids["bos"],
        eos_token_id=ids["eos"],
        pad_token_id=ids["pad"],
    )
    c.architectures = ["Gemma3ForCausalLM"]
    return c


def build(name, ids, layers=None, vocab=None):
    """(model, save dtype, embedding module, final-norm weight, norm stores gain-1)."""
    if name == "gpt2-124m":
        cfg = GPT2Config(
            vocab_size=vocab or 50257,
            n_positions=1024,
            n_embd=768,
            n_layer=layers or 12,
            n_head=12,
            activation_function="gelu_new",
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            layer_norm_epsilon=1e-5,
            bos_token_id=ids["bos"],
            eos_token_id=ids["eos"],
            tie_word_embeddings=True,
        )
        cfg.architectures = ["GPT2LMHeadModel"]
        m = GPT2LMHeadModel(cfg)
        return m, torch.float32, m.transformer.wte, m.transformer.ln_f.weight, False
    if name == "gemma3-270m":
        cfg = gemma_config(layers or 18, 640, 2048, ids, vocab)
    elif name == "gemma3-1b":
        cfg = gemma_config(layers or 26, 1152, 6912, ids, vocab)
    else:
        raise ValueError(f"unknown model {name}; one of {MODELS}")
    m = Gemma3ForCausalLM(cfg)
    return m, torch.bfloat16, m.model.embed_tokens, m.model.norm.weight, True


@torch.no_grad()
def margins(model, ids):
    logits = model(input_ids=torch.tensor([ids]), use_cache=False).logits[0].float()
    top = torch.topk(logits, 2, dim=-1).values
    marg = top[:, 0] - top[:, 1]
    std = logits.std(dim=-1)
    am = logits.argmax(-1)
    return {
        "positions": len(ids),
        "margin_median": round(float(marg.median()), 4),
        "margin_min": round(float(marg.min()), 4),
        "margin_p10": round(float(torch.quantile(marg, 0.1)), 4),
        "logit_std_mean": round(float(std.mean()), 4),
        "logit_max": round(float(logits.max()), 3),
        "margin_over_std_median": round(float((marg / std).median()), 4),
        "argmax_is_input_token": round(float((am == torch.tensor(ids)).float().mean()), 3),
        "distinct_argmax": int(am.unique().numel()),
    }


def make(name, out, embed_scale, head_gain, layers=None, vocab=None):
    t0 = time.time()
    print(f"== {name} -> {out}", flush=True)
    with open(CORPUS) as f:
        corpus = f.read()
    seed_all(SEED)
    if name.startswith("gpt2"):
        tok, tok_cfg, ids = gpt2_tokenizer(corpus, vocab or 50257)
    else:
        tok, tok_cfg, ids = gemma_tokenizer(corpus, vocab or 262144)
    print(f"   tokenizer: vocab {tok.get_vocab_size()} ({time.time() - t0:.1f} s)", flush=True)

    seed_all(SEED)
    model, dtype, emb, norm_w, gain_minus_one = build(name, ids, layers, vocab)
    model.eval()
    with torch.no_grad():
        emb.weight.mul_(embed_scale)
        if gain_minus_one:  # Gemma RMSNorm computes x * (1 + w)
            norm_w.fill_(head_gain - 1.0)
        else:
            norm_w.fill_(head_gain)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"   parameters: {nparams:,} ({time.time() - t0:.1f} s)", flush=True)

    tmp = out + ".partial"
    if os.path.isdir(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    model = model.to(dtype)
    model.generation_config = GenerationConfig(
        bos_token_id=model.config.bos_token_id,
        eos_token_id=model.config.eos_token_id,
        pad_token_id=getattr(model.config, "pad_token_id", None),
    )
    model.save_pretrained(tmp)
    tok.save(os.path.join(tmp, "tokenizer.json"))
    with open(os.path.join(tmp, "tokenizer_config.json"), "w") as f:
        json.dump(tok_cfg, f, indent=2)
        f.write("\n")
    print(f"   saved ({time.time() - t0:.1f} s)", flush=True)

    # Peakedness, on the weights as saved (widened to float32), eager attention.
    model = model.float()
    model.config._attn_implementation = "eager"
    sample = tok.encode(corpus[:2000]).ids[:SAMPLE]
    stats = margins(model, sample)
    stats.update(
        {
            "model": name,
            "parameters": nparams,
            "dtype": str(dtype).replace("torch.", ""),
            "embed_scale": embed_scale,
            "head_gain": head_gain,
            "layers": model.config.num_hidden_layers,
            "vocab": model.config.vocab_size,
            "seed": SEED,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        }
    )
    with open(os.path.join(tmp, "make_llm_full.json"), "w") as f:
        json.dump(stats, f, indent=1)
        f.write("\n")
    os.rename(tmp, out)
    print(f"   top-1 margin on {SAMPLE} corpus positions: {json.dumps(stats)}", flush=True)
    print(f"   done in {time.time() - t0:.1f} s", flush=True)
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", default=MODELS, help=f"any of {MODELS} (default: all)")
    ap.add_argument("--out", help="output directory (only with exactly one model)")
    ap.add_argument("--out-root", default=os.path.join(REPO, "target", "llm-full"),
                    help="parent directory of <name>/ (default: target/llm-full)")
    ap.add_argument("--embed-scale", type=float, default=3.0,
                    help="multiplies the (tied) token embedding's init (default 3: std 0.06)")
    ap.add_argument("--head-gain", type=float, default=1.0,
                    help="gain of the final norm before the LM head (default 1)")
    ap.add_argument("--layers", type=int, default=None,
                    help="depth override for scaled-down experiments (every other size stays the "
                         "real one); the default directory becomes <name>-<N>layer")
    ap.add_argument("--vocab", type=int, default=None,
                    help="vocabulary override for scaled-down experiments (tokenizer and model); "
                         "the default directory gets a -v<V> suffix")
    ap.add_argument("--force", action="store_true", help="remake a model that exists")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    for m in a.models:
        if m not in MODELS:
            ap.error(f"unknown model {m}; one of {MODELS}")
    if a.out and len(a.models) != 1:
        ap.error("--out needs exactly one model")
    torch.set_num_threads(a.threads)
    for m in a.models:
        sub = m + (f"-{a.layers}layer" if a.layers else "") + (f"-v{a.vocab}" if a.vocab else "")
        out = os.path.abspath(a.out or os.path.join(a.out_root, sub))
        if os.path.isfile(os.path.join(out, "config.json")) and not a.force:
            print(f"== {m}: {out} exists, skipped (--force to remake)", flush=True)
            continue
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        make(m, out, a.embed_scale, a.head_gain, a.layers, a.vocab)


if __name__ == "__main__":
    sys.exit(main())
