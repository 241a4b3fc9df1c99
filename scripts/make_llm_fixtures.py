#!/usr/bin/env python3
"""Builds zkinfer's tiny LLM test checkpoints: real Hugging Face architectures, toy sizes.

Writes, under examples/llm/<name>/ for name in gpt2, llama, gemma3:
  config.json, generation_config.json, model.safetensors   (transformers save_pretrained)
  tokenizer.json, tokenizer_config.json                    (byte-level BPE, vocab 512)
  golden.json                                              (greedy generations + logits, from transformers)

Each model is random-initialised (fixed seed) and then trained for a few hundred AdamW steps on
examples/llm/corpus.txt (hand-written English prose) so that its next-token distributions are
peaked. The checkpoints are toys; they exist to test loaders, tokenizers and numerics.

  gpt2   : GPT2LMHeadModel, 2 layers, d=64, 4 heads, n_positions 128, tied head, gelu_new.   F32
  llama  : LlamaForCausalLM, 2 layers, d=64, 4 q heads / 2 kv heads (GQA), head_dim 16,
           SwiGLU 128, llama3 rope scaling, untied lm_head.                                  F16
  gemma3 : Gemma3ForCausalLM (Gemma3TextConfig), 4 layers, d=64, 4 q heads / 1 kv head,
           head_dim 16, GeGLU(tanh) 128, sliding window 8 on layers 0 and 2 (layer_types),
           full attention on layers 1 and 3, qk-norm, pre/post norms, tied embeddings.       BF16

golden.json is computed from the checkpoint reloaded from disk in float32 with eager attention.

Usage: pip install torch transformers tokenizers safetensors; python3 scripts/make_llm_fixtures.py
(transformers 5.x; runs on CPU in a few minutes.)
"""
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
    AutoModelForCausalLM,
    AutoTokenizer,
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GenerationConfig,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
)

SEED = 20260301
VOCAB = 512
SEQ = 64
BATCH = 16
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "llm")
CORPUS = os.path.join(ROOT, "corpus.txt")
CALIB = os.path.join(ROOT, "calibration.txt")

PROMPTS = [
    "The cat sat on the",
    "In the morning the family woke up early. The mother made tea in the",
]
MAX_NEW = 8
# prompt + generated length limits for the two cases
LEN_LIMITS = [32, 40]


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ----------------------------------------------------------------------------- tokenizers


def train_bpe(text, specials):
    """Byte-level BPE (GPT-2 style), specials get ids 0..len(specials)-1."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        min_frequency=2,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([text], trainer=trainer)
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    return tok


def gpt2_tokenizer(text):
    tok = train_bpe(text, ["<|endoftext|>"])
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "model_max_length": 128,
        "clean_up_tokenization_spaces": False,
    }
    ids = {"bos": 0, "eos": 0, "pad": None}
    return tok, cfg, ids


def bos_tokenizer(text, model_max_length):
    # Gemma's id layout: <pad>=0, <eos>=1, <bos>=2.
    tok = train_bpe(text, ["<pad>", "<eos>", "<bos>"])
    bos = tok.token_to_id("<bos>")
    tok.post_processor = processors.TemplateProcessing(
        single="<bos>:0 $A:0", pair="<bos>:0 $A:0 <bos>:1 $B:1", special_tokens=[("<bos>", bos)]
    )
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<bos>",
        "eos_token": "<eos>",
        "pad_token": "<pad>",
        "add_bos_token": True,
        "add_eos_token": False,
        "add_prefix_space": False,
        "model_max_length": model_max_length,
        "padding_side": "left",
        "clean_up_tokenization_spaces": False,
    }
    ids = {"bos": bos, "eos": tok.token_to_id("<eos>"), "pad": tok.token_to_id("<pad>")}
    return tok, cfg, ids


# ----------------------------------------------------------------------------- models


def build(name, tok_ids):
    if name == "gpt2":
        cfg = GPT2Config(
            vocab_size=VOCAB,
            n_positions=128,
            n_embd=64,
            n_layer=2,
            n_head=4,
            n_inner=None,  # 4 * n_embd = 256
            activation_function="gelu_new",
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            layer_norm_epsilon=1e-5,
            bos_token_id=tok_ids["bos"],
            eos_token_id=tok_ids["eos"],
            tie_word_embeddings=True,
        )
        return GPT2LMHeadModel(cfg), torch.float32
    if name == "llama":
        cfg = LlamaConfig(
            vocab_size=VOCAB,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=16,
            hidden_act="silu",
            max_position_embeddings=256,
            rms_norm_eps=1e-5,
            # transformers 5 name for what v4 called rope_theta + rope_scaling
            rope_parameters={
                "rope_type": "llama3",
                "rope_theta": 10000.0,
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 64,
            },
            tie_word_embeddings=False,
            attention_bias=False,
            mlp_bias=False,
            bos_token_id=tok_ids["bos"],
            eos_token_id=tok_ids["eos"],
            pad_token_id=tok_ids["pad"],
        )
        return LlamaForCausalLM(cfg), torch.float16
    if name == "gemma3":
        cfg = Gemma3TextConfig(
            vocab_size=VOCAB,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=4,
            num_attention_heads=4,
            num_key_value_heads=1,
            head_dim=16,
            hidden_activation="gelu_pytorch_tanh",
            max_position_embeddings=256,
            rms_norm_eps=1e-6,
            query_pre_attn_scalar=16,
            sliding_window=8,
            # transformers 5: explicit per-layer list (the old int `sliding_window_pattern` is only read
            # as a fallback). Every 2nd layer is global.
            layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
            # transformers 5: per-layer-type rope parameters (v4: rope_theta + rope_local_base_freq)
            rope_parameters={
                "full_attention": {"rope_type": "default", "rope_theta": 1_000_000.0},
                "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
            },
            final_logit_softcapping=None,
            attn_logit_softcapping=None,
            tie_word_embeddings=True,
            bos_token_id=tok_ids["bos"],
            eos_token_id=tok_ids["eos"],
            pad_token_id=tok_ids["pad"],
        )
        return Gemma3ForCausalLM(cfg), torch.bfloat16
    raise ValueError(name)


def train(model, stream, bos_id, steps, lr):
    """AdamW on random 64-token windows of the corpus token stream (BOS-prefixed where the tokenizer adds BOS)."""
    gen = torch.Generator().manual_seed(SEED + 1)
    body = SEQ - (1 if bos_id is not None else 0)
    data = torch.tensor(stream, dtype=torch.long)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.01)
    warm = 20
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.05, 1.0 - s / steps)
    )
    model.train()
    losses = []
    for step in range(steps):
        starts = torch.randint(0, len(data) - body, (BATCH,), generator=gen)
        x = torch.stack([data[s : s + body] for s in starts])
        if bos_id is not None:
            x = torch.cat([torch.full((BATCH, 1), bos_id, dtype=torch.long), x], dim=1)
        out = model(input_ids=x, labels=x)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(out.loss.item())
        if step % 100 == 0 or step == steps - 1:
            print(f"    step {step:4d}  loss {out.loss.item():.4f}", flush=True)
    model.eval()
    return sum(losses[-20:]) / 20


# ----------------------------------------------------------------------------- golden


def r5(xs):
    return [round(float(v), 5) for v in xs]


@torch.no_grad()
def greedy_no_cache(model, ids, n):
    """Reference greedy decode: full recompute each step, no KV cache."""
    seq = list(ids)
    for _ in range(n):
        logits = model(input_ids=torch.tensor([seq]), use_cache=False).logits[0, -1]
        seq.append(int(torch.argmax(logits)))
    return seq[len(ids):]


@torch.no_grad()
def make_golden(d, name):
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    # EOS handling: the corpus stream never contains EOS, so greedy decoding does not emit it; we still
    # disable EOS stopping explicitly (eos_token_id=None) so exactly MAX_NEW tokens are always produced.
    gcfg = GenerationConfig(
        do_sample=False,
        max_new_tokens=MAX_NEW,
        min_new_tokens=0,
        eos_token_id=None,
        bos_token_id=model.config.bos_token_id,
        pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        num_beams=1,
    )
    cases = []
    for prompt, limit in zip(PROMPTS, LEN_LIMITS):
        ids = tok(prompt)["input_ids"]
        if tok.bos_token_id is not None and tok.add_bos_token:
            assert ids[0] == tok.bos_token_id, ids
        x = torch.tensor([ids])
        out = model.generate(input_ids=x, attention_mask=torch.ones_like(x), generation_config=gcfg)
        gen = out[0, len(ids):].tolist()
        assert len(gen) == MAX_NEW, gen
        ref = greedy_no_cache(model, ids, MAX_NEW)
        assert gen == ref, f"{name}: generate {gen} != no-cache greedy {ref}"
        assert len(ids) + len(gen) <= limit, (len(ids), len(gen), limit)
        logits = model(input_ids=x).logits[0, -1].float()
        top = torch.topk(logits, 2).values
        cases.append(
            {
                "prompt": prompt,
                "prompt_ids": ids,
                "max_new_tokens": MAX_NEW,
                "generated_ids": gen,
                "text": tok.decode(gen, skip_special_tokens=True),
                "full_text": tok.decode(ids + gen, skip_special_tokens=True),
                "logits_last": r5(logits.tolist()),
                "top2_margin": round(float(top[0] - top[1]), 5),
            }
        )
    with open(CALIB) as f:
        calib = f.read()
    cids = tok(calib)["input_ids"][:SEQ]
    logits = model(input_ids=torch.tensor([cids])).logits[0].float()
    srt = torch.sort(logits, dim=-1, descending=True).values
    tf = {
        "source": "calibration.txt",
        "ids": cids,
        "argmax": logits.argmax(-1).tolist(),
        "max_logit": r5(logits.max(-1).values.tolist()),
        "min_logit": r5(logits.min(-1).values.tolist()),
        "top2_margin": r5((srt[:, 0] - srt[:, 1]).tolist()),
        "accuracy_vs_next_token": round(
            float((logits.argmax(-1)[:-1] == torch.tensor(cids[1:])).float().mean()), 4
        ),
    }
    golden = {
        "model": name,
        "generator": f"transformers {transformers.__version__}, torch {torch.__version__}, float32, eager attention",
        "eos_handling": "eos_token_id=None passed to generate (no early stop); exactly max_new_tokens greedy tokens; "
        "verified equal to a no-KV-cache argmax loop",
        "cases": cases,
        "teacher_forced": tf,
    }
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    return golden, model, tok


# ----------------------------------------------------------------------------- main

STEPS = {"gpt2": 400, "llama": 400, "gemma3": 400}
LR = {"gpt2": 3e-3, "llama": 3e-3, "gemma3": 3e-3}


def main():
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    only = sys.argv[1:] or ["gpt2", "llama", "gemma3"]
    with open(CORPUS) as f:
        corpus = f.read()
    summary = {}
    for name in only:
        t0 = time.time()
        print(f"== {name}", flush=True)
        seed_all(SEED)
        if name == "gpt2":
            tok, tok_cfg, tok_ids = gpt2_tokenizer(corpus)
        else:
            tok, tok_cfg, tok_ids = bos_tokenizer(corpus, 256)
        stream = tok.encode(corpus, add_special_tokens=False).ids
        print(f"    corpus: {len(corpus)} chars -> {len(stream)} tokens", flush=True)

        seed_all(SEED)
        model, save_dtype = build(name, tok_ids)
        model.config._attn_implementation = "eager"
        nparams = sum(p.numel() for p in model.parameters())
        print(f"    params: {nparams}", flush=True)
        bos_for_train = tok_ids["bos"] if name != "gpt2" else None
        loss = train(model, stream, bos_for_train, STEPS[name], LR[name])
        print(f"    final train loss (mean of last 20 steps): {loss:.4f}", flush=True)

        d = os.path.join(ROOT, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        model = model.to(save_dtype)
        model.generation_config = GenerationConfig(
            bos_token_id=model.config.bos_token_id,
            eos_token_id=model.config.eos_token_id,
            pad_token_id=getattr(model.config, "pad_token_id", None),
        )
        model.save_pretrained(d)
        tok.save(os.path.join(d, "tokenizer.json"))
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump(tok_cfg, f, indent=2)
            f.write("\n")

        golden, _, _ = make_golden(d, name)
        summary[name] = {
            "final_loss": round(loss, 4),
            "params": nparams,
            "cases": [(c["generated_ids"], c["text"], c["top2_margin"]) for c in golden["cases"]],
            "tf_acc": golden["teacher_forced"]["accuracy_vs_next_token"],
            "seconds": round(time.time() - t0, 1),
        }
        print(f"    {json.dumps(summary[name])}", flush=True)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
