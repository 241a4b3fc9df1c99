#!/usr/bin/env python3
"""Full-size LLMs proven with zkinfer, measured against plain inference (issue 13).

Per model and sequence (prompt + generated tokens), in one run:
  0. makes the random-weight checkpoint if absent (scripts/make_llm_full.py);
  1. zkinfer compile  --hf DIR -o OUT --context L --new-tokens G --json
  2. zkinfer generate OUT/model.zkm --prompt TEXT --max-new-tokens G -o PROOF --json
     (the prompt is cut from examples/llm/corpus.txt so that it is exactly P tokens, BOS included)
  3. zkinfer verify   PROOF --vk OUT/model.vk --json
  4. the float reference: torch on 2 threads (float32, eager attention), same prompt ids, G greedy
     tokens with a KV cache; only the forward passes are timed (after one untimed warm-up pass).
     Also timed: one causal pass over the L positions (the shape one zkinfer proof covers).
Each step is its own child process, with wall time and peak RSS (GNU `time -v` when present,
else wait4's ru_maxrss; and RSS sampled every 0.5 s, the child killed above --rss-limit-gib) and a
timeout. A step that fails, times out or is killed is reported with its first error line; the
steps after it are reported as skipped. Nothing is dropped.

Writes one markdown report per run: appended to bench/results_llm.md (--results) and printed.
Raw numbers (every child's JSON, command line, logs) go to WORK/run-<stamp>.json.

  python3 bench/llm.py                                   # gpt2-124m, 16+16
  python3 bench/llm.py --models gpt2-124m --seq 8+8 16+16 --timeout 1500
  python3 bench/llm.py --models gemma3-270m --seq 96+32 --steps compile
  python3 bench/llm.py --zkinfer /work/wt-bench/target/release/zkinfer
Exit status 0 only if every selected step of every run succeeded (and every proof verified).
"""
import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GNU_TIME = "/usr/bin/time"
CORPUS = REPO / "examples" / "llm" / "corpus.txt"
MAKE = REPO / "scripts" / "make_llm_full.py"
MODELS = ["gpt2-124m", "gemma3-270m", "gemma3-1b"]
STEPS = ["compile", "generate", "verify", "torch"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- measuring


def group_rss_bytes(pgid):
    """Sum of VmRSS over the processes of process group pgid (the child and its children)."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            # fields after the ")" of comm: state ppid pgrp ...
            rest = st[st.rindex(")") + 2:].split()
            if int(rest[2]) != pgid:
                continue
            with open(f"/proc/{d}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total


def run_measured(cmd, log_prefix, timeout_s, rss_limit):
    """Runs cmd in its own session; stdout/stderr to log_prefix.out/.err, RSS samples to .rss."""
    out_p, err_p = Path(f"{log_prefix}.out"), Path(f"{log_prefix}.err")
    time_p, rss_p = Path(f"{log_prefix}.time"), Path(f"{log_prefix}.rss")
    use_time = os.access(GNU_TIME, os.X_OK)
    full = ([GNU_TIME, "-v", "-o", str(time_p)] if use_time else []) + [str(c) for c in cmd]
    res = {"cmd": [str(c) for c in cmd], "timed_out": False, "rss_killed": False}
    sampled = 0
    with open(out_p, "wb") as fo, open(err_p, "wb") as fe, open(rss_p, "w") as fr:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        next_sample = t0
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            now = time.perf_counter()
            kill = None
            if now >= next_sample:
                rss = group_rss_bytes(proc.pid)
                sampled = max(sampled, rss)
                fr.write(f"{now - t0:.1f} {rss}\n")
                fr.flush()
                next_sample = now + 0.5
                if rss_limit and rss > rss_limit:
                    res["rss_killed"] = True
                    kill = "rss"
            if now - t0 > timeout_s:
                res["timed_out"] = True
                kill = "timeout"
            if kill:
                # SIGTERM first (lets a `perf record` wrapper write its data), then SIGKILL.
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                t_kill = time.perf_counter()
                while time.perf_counter() - t_kill < 10:
                    pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                    if pid == proc.pid:
                        break
                    time.sleep(0.1)
                else:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    pid, status, rusage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        res["wall_s"] = time.perf_counter() - t0
    # Whatever is left of the group (a `perf record` wrapper still writing its data): give it
    # a minute, then kill it.
    t_end = time.perf_counter()
    while group_rss_bytes(proc.pid) and time.perf_counter() - t_end < 60:
        time.sleep(0.5)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    res["returncode"] = os.waitstatus_to_exitcode(status)
    res["rss_sampled_bytes"] = sampled
    rss = rusage.ru_maxrss * 1024
    if use_time and time_p.exists():
        m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", time_p.read_text())
        if m:
            rss = int(m.group(1)) * 1024
    res["peak_rss_bytes"] = max(rss, sampled)
    res["stdout"], res["stderr"] = str(out_p), str(err_p)
    res["json"] = None
    for line in reversed(out_p.read_text(errors="replace").strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                res["json"] = json.loads(line)
                break
            except json.JSONDecodeError:
                pass
    res["ok"] = res["returncode"] == 0 and not res["timed_out"] and not res["rss_killed"]
    if not res["ok"]:
        res["error"] = first_error(res, timeout_s, rss_limit)
    return res


def first_error(res, timeout_s, rss_limit):
    if res["timed_out"]:
        return f"timed out after {timeout_s:.0f} s (killed)"
    if res["rss_killed"]:
        return f"killed: RSS above {rss_limit / 2**30:.1f} GiB"
    text = Path(res["stderr"]).read_text(errors="replace")
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.startswith("\tCommand being timed")
             and not ln.lstrip().startswith("Command exited with")]
    # GNU time's own lines go to -o; what is left is the tool's message.
    err = [ln for ln in lines if ln.lower().startswith(("error", "thread", "fatal", "panicked",
                                                         "traceback", "memory allocation"))]
    pick = err[0] if err else (lines[0] if lines else "")
    if res["json"] and res["json"].get("error"):
        pick = str(res["json"]["error"])
    sig = ""
    if res["returncode"] < 0:
        sig = f" (signal {-res['returncode']})"
    elif res["returncode"] in (137, 134, 139):
        sig = f" (exit {res['returncode']})"
    return (pick[:300] or f"exit status {res['returncode']}") + sig


# ----------------------------------------------------------------------------- prompt, torch


def make_prompt(model_dir, n_tokens):
    """Text cut from the corpus that the checkpoint's tokenizer encodes to exactly n_tokens."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    corpus = CORPUS.read_text()
    ids = tok.encode(corpus[:20000], add_special_tokens=False).ids
    for start in range(0, 2000, 7):
        for n in range(max(1, n_tokens - 3), n_tokens + 3):
            text = tok.decode(ids[start:start + n]).strip()
            enc = tok.encode(text, add_special_tokens=True).ids
            if len(enc) == n_tokens:
                return text, enc
    raise SystemExit(f"cannot cut a {n_tokens}-token prompt from the corpus")


TORCH_CHILD = r"""
import json, sys, time, torch
from transformers import AutoModelForCausalLM
d, ids, G, L, threads = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
t = time.perf_counter()
m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager")
m.eval()
load_s = time.perf_counter() - t
with torch.inference_mode():
    x = torch.tensor([ids])
    m(input_ids=x, use_cache=False)  # warm-up, untimed
    fwd = 0.0
    t = time.perf_counter()
    out = m(input_ids=x, use_cache=True)
    fwd += time.perf_counter() - t
    past, gen = out.past_key_values, [int(out.logits[0, -1].argmax())]
    prefill_s = fwd
    for _ in range(G - 1):
        t = time.perf_counter()
        out = m(input_ids=torch.tensor([[gen[-1]]]), past_key_values=past, use_cache=True)
        fwd += time.perf_counter() - t
        past = out.past_key_values
        gen.append(int(out.logits[0, -1].argmax()))
    seq = (ids + gen)[:L]
    seq = (seq * (L // len(seq) + 1))[:L]
    t = time.perf_counter()
    m(input_ids=torch.tensor([seq]), use_cache=False)
    pass_s = time.perf_counter() - t
print(json.dumps({"generated_tokens": gen, "greedy_kv_ms": fwd * 1e3, "prefill_ms": prefill_s * 1e3,
                  "pass_ms": pass_s * 1e3, "pass_positions": L, "load_ms": load_s * 1e3,
                  "threads": threads, "torch": torch.__version__}))
"""


# ----------------------------------------------------------------------------- report


def gib(b):
    return "" if b is None else f"{b / 2**30:.2f} GiB"


def secs(ms):
    return "" if ms is None else (f"{ms / 1e3:.2f} s" if ms >= 1000 else f"{ms:.0f} ms")


def size(b):
    if b is None:
        return ""
    return f"{b / 2**20:.2f} MiB" if b >= 2**20 else f"{b / 1024:.1f} KiB"


def status(st):
    if st is None:
        return "not run"
    if st.get("skipped"):
        return f"skipped ({st['skipped']})"
    if st["ok"]:
        return "ok"
    return f"**FAILED**: {st['error']}"


def report(runs, info):
    L = []
    L.append(f"## LLM run {info['date']} — zkinfer {info['zkinfer_rev']}")
    L.append("")
    L.append(f"Command: `{info['command']}`  ")
    L.append(f"Machine: {info['cpu']}, {info['cores']} cores, {info['mem']}; torch {info.get('torch', '?')} "
             f"on {info['threads']} threads (float32, eager attention).  ")
    L.append(f"Per-step timeout {info['timeout_s']:.0f} s, RSS limit {info['rss_limit_gib']} GiB. "
             "Times are wall clock of each child (zkinfer's own --json timings in the detail table).")
    L.append("")
    L.append("| model | sequence (P+G), context | compile | compile RSS | generate: integer run | prove | "
             "generate RSS | proof | verify | torch greedy (KV cache) | torch 1 pass of L | prove / torch greedy | "
             "tokens = torch |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        c, g, v, t = (r["steps"].get(k) for k in STEPS)

        def cell(st, val):
            if st is None:
                return "—"
            if st.get("skipped"):
                return "skipped"
            if not st["ok"]:
                return "FAILED" if not st.get("timed_out") else "TIMEOUT"
            return val

        cj = (c or {}).get("json") or {}
        gj = (g or {}).get("json") or {}
        vj = (v or {}).get("json") or {}
        tj = (t or {}).get("json") or {}
        prove_ms = (gj.get("timings_ms") or {}).get("prove")
        ratio = ""
        if prove_ms and tj.get("greedy_kv_ms"):
            ratio = f"{prove_ms / tj['greedy_kv_ms']:.0f}×"
        same = ""
        if gj.get("generated_tokens") is not None and tj.get("generated_tokens") is not None:
            a, b = gj["generated_tokens"], tj["generated_tokens"]
            same = f"{sum(x == y for x, y in zip(a, b))}/{len(b)}"
        L.append("| " + " | ".join([
            r["model"],
            f"{r['prompt_tokens']}+{r['new_tokens']}, L={r['context']}",
            cell(c, f"{c['wall_s']:.1f} s" if c else ""),
            cell(c, gib(c["peak_rss_bytes"]) if c else "") if c and not c.get("skipped") else cell(c, ""),
            cell(g, secs((gj.get("timings_ms") or {}).get("generate"))),
            cell(g, secs(prove_ms)),
            cell(g, gib(g["peak_rss_bytes"]) if g and not g.get("skipped") else ""),
            cell(g, size(gj.get("proof_bytes"))),
            cell(v, secs(sum((vj.get("timings_ms") or {}).values()) if vj.get("timings_ms") else None)),
            cell(t, secs(tj.get("greedy_kv_ms"))),
            cell(t, secs(tj.get("pass_ms"))),
            ratio,
            same,
        ]) + " |")
    L.append("")
    L.append("Steps (wall time and peak RSS of each child; zkinfer's --json timings):")
    L.append("")
    L.append("| model | seq | step | status | wall | peak RSS | details |")
    L.append("|---|---|---|---|---|---|---|")
    for r in runs:
        for k in STEPS:
            st = r["steps"].get(k)
            if st is None:
                continue
            det = ""
            j = st.get("json") or {}
            if k == "compile" and j:
                tm = j.get("timings_ms", {})
                det = ", ".join(f"{a} {secs(b)}" for a, b in tm.items())
                det += f"; zkm {size(j.get('zkm_bytes'))}, vk {size(j.get('vk_bytes'))}, {j.get('nodes')} nodes"
                fid = j.get("fidelity")
                if fid is not None:
                    det += f"; fidelity: `{json.dumps(fid)[:400]}`"
            elif k == "generate" and j:
                det = ", ".join(f"{a} {secs(b)}" for a, b in j.get("timings_ms", {}).items())
                det += "; prove phases: " + ", ".join(
                    f"{a} {secs(b)}" for a, b in j.get("prove_phases_ms", {}).items())
                det += f"; tokens {j.get('generated_tokens')}"
            elif k == "verify" and j:
                det = ", ".join(f"{a} {secs(b)}" for a, b in j.get("timings_ms", {}).items())
                det += f"; valid {j.get('valid')}"
            elif k == "torch" and j:
                det = (f"load {secs(j.get('load_ms'))}, prefill {secs(j.get('prefill_ms'))}, greedy "
                       f"{secs(j.get('greedy_kv_ms'))}, pass of {j.get('pass_positions')} "
                       f"{secs(j.get('pass_ms'))}; tokens {j.get('generated_tokens')}")
            if st.get("skipped"):
                L.append(f"| {r['model']} | {r['prompt_tokens']}+{r['new_tokens']} | {k} | {status(st)} | | | |")
                continue
            L.append(f"| {r['model']} | {r['prompt_tokens']}+{r['new_tokens']} | {k} | {status(st)} | "
                     f"{st['wall_s']:.1f} s | {gib(st['peak_rss_bytes'])} | {det} |")
    L.append("")
    return "\n".join(L)


# ----------------------------------------------------------------------------- main


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info():
    cpu = ""
    for line in sh(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            cpu = line.split(":", 1)[1].strip()
    mem = ""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB RAM"
    return cpu, os.cpu_count(), mem


def parse_seq(s):
    m = re.fullmatch(r"(\d+)\+(\d+)", s)
    if not m:
        raise argparse.ArgumentTypeError(f"sequence {s!r}: want PROMPT+GENERATED, e.g. 16+16")
    return int(m.group(1)), int(m.group(2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--models", nargs="+", default=["gpt2-124m"], choices=MODELS)
    ap.add_argument("--seq", nargs="+", type=parse_seq, default=[(16, 16)],
                    help="PROMPT+GENERATED token counts (prompt includes BOS), e.g. 16+16 480+32")
    ap.add_argument("--context", type=int, default=None,
                    help="positions of the proven pass (default: PROMPT+GENERATED)")
    ap.add_argument("--steps", nargs="+", default=STEPS, choices=STEPS)
    ap.add_argument("--timeout", type=float, default=1500, help="seconds per step (default 1500)")
    ap.add_argument("--rss-limit-gib", type=float, default=20.0,
                    help="kill a step whose RSS exceeds this (default 20; 0 = no limit)")
    ap.add_argument("--zkinfer", default=str(REPO / "target" / "release" / "zkinfer"))
    ap.add_argument("--ckpt-root", default=str(REPO / "target" / "llm-full"),
                    help="checkpoints live in CKPT_ROOT/<model> (made if absent)")
    ap.add_argument("--work", default=str(REPO / "target" / "llm-bench"), help="keys, proofs, logs")
    ap.add_argument("--results", default=str(REPO / "bench" / "results_llm.md"))
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--layers", type=int, default=None,
                    help="scaled-down depth (checkpoint <model>-<N>layer, made with make_llm_full.py "
                         "--layers N); every other size stays the real one")
    ap.add_argument("--vocab", type=int, default=None,
                    help="scaled-down vocabulary (checkpoint <model>[-<N>layer]-v<V>)")
    ap.add_argument("--perf", action="store_true",
                    help="wrap each zkinfer step in `perf record -F 19 -g` (WORK/<run>/<step>.perf)")
    ap.add_argument("--extra-compile-args", default="", help="e.g. '--bits 14 --weight-bits 10'")
    a = ap.parse_args()

    zk = Path(a.zkinfer).resolve()
    if ("compile" in a.steps or "generate" in a.steps or "verify" in a.steps) and not os.access(zk, os.X_OK):
        sys.exit(f"error: zkinfer binary {zk} not found (cargo build --release -p zkinfer-cli, or --zkinfer)")
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    rss_limit = int(a.rss_limit_gib * 2**30) if a.rss_limit_gib > 0 else 0
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    cpu, cores, mem = machine_info()
    rev = sh(["git", "-C", str(zk.parent), "rev-parse", "--short", "HEAD"]) or "?"
    dirty = sh(["git", "-C", str(zk.parent), "status", "--porcelain", "--untracked-files=no"])
    info = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "command": " ".join(["python3", "bench/llm.py"] + sys.argv[1:]),
        "zkinfer": str(zk), "zkinfer_rev": rev + ("+dirty" if dirty else ""),
        "cpu": cpu, "cores": cores, "mem": mem, "threads": a.threads,
        "timeout_s": a.timeout, "rss_limit_gib": a.rss_limit_gib,
    }
    runs = []
    all_ok = True
    for model in a.models:
        label = model + (f"-{a.layers}layer" if a.layers else "") + (f"-v{a.vocab}" if a.vocab else "")
        ck = Path(a.ckpt_root) / label
        if not (ck / "config.json").exists():
            log(f"== making checkpoint {ck}")
            extra = (["--layers", str(a.layers)] if a.layers else []) + (
                ["--vocab", str(a.vocab)] if a.vocab else [])
            r = subprocess.run([sys.executable, str(MAKE), model, "--out", str(ck)] + extra)
            if r.returncode != 0:
                sys.exit(f"error: {MAKE} {model} failed")
        for (p, g) in a.seq:
            ctx = a.context or (p + g)
            name = f"{label}-{p}+{g}-L{ctx}"
            d = work / name
            d.mkdir(parents=True, exist_ok=True)
            prompt, ids = make_prompt(ck, p)
            run = {"model": label, "prompt_tokens": p, "new_tokens": g, "context": ctx,
                   "prompt": prompt, "prompt_ids": ids, "steps": {}}
            runs.append(run)
            key, proof = d / "key", d / "gen.proof"
            cmds = {
                "compile": [zk, "compile", "--hf", ck, "-o", key, "--context", ctx, "--new-tokens", g,
                            "--json", "--quiet"] + a.extra_compile_args.split(),
                "generate": [zk, "generate", key / "model.zkm", "--prompt", prompt, "--max-new-tokens", g,
                             "-o", proof, "--json", "--quiet"],
                "verify": [zk, "verify", proof, "--vk", key / "model.vk", "--json"],
                "torch": [sys.executable, "-c", TORCH_CHILD, ck, json.dumps(ids), g, ctx, a.threads],
            }
            if a.perf:
                for k in ("compile", "generate", "verify"):
                    cmds[k] = ["perf", "record", "-F", "19", "-g", "--no-buildid", "-o", d / f"{k}.perf", "--"] + cmds[k]
            failed = None
            for step in STEPS:
                if step not in a.steps:
                    continue
                if failed and step != "torch":
                    run["steps"][step] = {"skipped": f"{failed} failed", "ok": False}
                    all_ok = False
                    continue
                if step in ("generate", "verify") and "compile" not in a.steps and not (key / "model.zkm").exists():
                    run["steps"][step] = {"skipped": "no key", "ok": False}
                    all_ok = False
                    continue
                log(f"== {name}: {step} ...")
                st = run_measured(cmds[step], d / step, a.timeout, rss_limit)
                run["steps"][step] = st
                log(f"   {'ok' if st['ok'] else 'FAILED: ' + st['error']}  "
                    f"{st['wall_s']:.1f} s, peak RSS {gib(st['peak_rss_bytes'])}")
                if st["json"] and step == "torch":
                    info["torch"] = st["json"].get("torch")
                if step == "verify" and st["ok"] and not (st["json"] or {}).get("valid"):
                    st["ok"], st["error"] = False, "proof rejected"
                if not st["ok"]:
                    all_ok = False
                    if step != "torch":
                        failed = step
    md = report(runs, info)
    print(md)
    with open(a.results, "a") as f:
        f.write(md + "\n")
    with open(work / f"run-{stamp}.json", "w") as f:
        json.dump({"info": info, "runs": runs}, f, indent=1, default=str)
    log(f"appended to {a.results}; raw: {work / f'run-{stamp}.json'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
