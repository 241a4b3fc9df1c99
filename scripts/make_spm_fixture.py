"""Makes the SentencePiece GGUF tokenizer fixtures (crates/llm/tests/fixtures/spm/).

Real Llama 2 and Gemma GGUF files carry a SentencePiece BPE vocabulary
(`tokenizer.ggml.model = "llama"`): pieces in id order, their scores and types, no merges.
This script trains two tiny SentencePiece BPE models the way those tokenizers are set up
(identity normalization, whitespace kept, byte fallback; with and without the dummy prefix
space, as Llama 2 and Gemma), writes each as a metadata-only GGUF the way llama.cpp's
converter does (piece, score, type per id), and records SentencePiece's own encodings and
decodings of some texts as the golden output zkinfer's rebuilt tokenizer must reproduce.

Needs `sentencepiece` and `gguf` from PyPI. Run: python3 scripts/make_spm_fixture.py
"""

import io
import json
import pathlib

import gguf
import sentencepiece as spm

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/llm/tests/fixtures/spm"

CORPUS = """The quick brown fox jumps over the lazy dog. A proof shows that the committed model
produced this answer from this prompt, and nothing else. Zero knowledge keeps the weights
hidden while anyone can check the proof. The verifier reads the statement, the prover writes
the messages, and the transcript binds them together. Greedy decoding picks the most likely
next token at every step; ties go to the lowest index. Numbers like 12345 and 2026 appear too.
Language models read text as tokens: pieces of words, whole words, and single bytes when a
character was never seen. The model was trained on a little English text so that its next
token distribution is peaked, the way a real model's is. Hello world! hello there, world.
""".split("\n")

TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    " leading space and  two spaces",
    "numbers 12345 and 2026",
    "unseen: zkML \u00e9t\u00e9 \u4e2d\u6587 \U0001F600",
    "line one\nline two",
    "proof",
    "",
]

# llama.cpp token types
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def train(name: str, dummy_prefix: bool) -> spm.SentencePieceProcessor:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([l for l in CORPUS if l.strip()] * 4),
        model_writer=model,
        model_type="bpe",
        vocab_size=420,
        byte_fallback=True,
        character_coverage=1.0,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=dummy_prefix,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        user_defined_symbols=["<start_of_turn>"],
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    write_gguf(sp, OUT / f"{name}.gguf", dummy_prefix)
    golden = []
    # A user-defined piece splits the text before normalization in llama.cpp and in Hugging
    # Face tokenizers, so each following fragment gets its own dummy prefix, where
    # SentencePiece prefixes the whole text once: compared only without the prefix (Gemma).
    texts = TEXTS if dummy_prefix else TEXTS + ["<start_of_turn>user hi<start_of_turn>"]
    for text in texts:
        ids = [sp.bos_id()] + sp.encode(text)
        golden.append({"text": text, "ids": ids, "decoded": sp.decode(ids)})
    (OUT / f"{name}.json").write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n")
    return sp


def write_gguf(sp: spm.SentencePieceProcessor, path: pathlib.Path, dummy_prefix: bool) -> None:
    pieces, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        pieces.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(UNKNOWN)
        elif sp.is_control(i):
            types.append(CONTROL)
        elif sp.is_byte(i):
            types.append(BYTE)
        elif sp.is_unused(i):
            types.append(UNUSED)
        elif pieces[-1] == "<start_of_turn>":
            types.append(USER_DEFINED)
        else:
            types.append(NORMAL)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_tokenizer_model("llama")
    w.add_token_list(pieces)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(sp.bos_id())
    w.add_eos_token_id(sp.eos_id())
    w.add_unk_token_id(sp.unk_id())
    w.add_add_bos_token(True)
    w.add_add_space_prefix(dummy_prefix)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, prefix in [("llama2_style", True), ("gemma_style", False)]:
        sp = train(name, prefix)
        print(name, sp.get_piece_size(), "pieces")
