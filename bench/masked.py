#!/usr/bin/env python3
"""Masked walk against the plain proof, same machine, same run (issue 14, docs/ZK.md).

For each model: `zkinfer compile` once, then `zkinfer prove` plain and
`zkinfer prove --masked-sumchecks` alternately (REPS times each), `zkinfer verify` on each
proof, all through the release CLI with `--json`. Reports medians of prove and verify
time, proof sizes and the masked/plain ratios as one markdown table (stdout), progress on
stderr. Exit status 0 only if every step succeeded and every proof verified.

Usage: python3 bench/masked.py [--reps 3] [--zkinfer target/release/zkinfer] [MODEL ...]
MODEL: a folder with network.onnx and input.json; default lenet_5 and nanoGPT from
../shared/peer-models/ezkl and the bundled small_cnn.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(ROOT, "..", "shared", "peer-models", "ezkl")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-400:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def bench(zk, model_dir, reps, work):
    name = os.path.basename(os.path.normpath(model_dir))
    out = os.path.join(work, name)
    os.makedirs(out, exist_ok=True)
    inp = os.path.join(model_dir, "input.json")
    log(f"{name}: compile")
    run_json([zk, "compile", os.path.join(model_dir, "network.onnx"), "--calibration", inp,
              "-o", out, "--quiet", "--json"])
    res = {"plain": {"prove": [], "verify": [], "bytes": []},
           "masked": {"prove": [], "verify": [], "bytes": []}}
    for r in range(reps):
        for mode in ("plain", "masked"):
            proof = os.path.join(out, f"{mode}.proof")
            cmd = [zk, "prove", os.path.join(out, "model.zkm"), "--input", inp, "-o", proof,
                   "--quiet", "--json"]
            if mode == "masked":
                cmd.append("--masked-sumchecks")
            p = run_json(cmd)
            v = run_json([zk, "verify", proof, "--vk", os.path.join(out, "model.vk"), "--json"])
            if not v.get("valid", False):
                raise RuntimeError(f"{name} {mode}: proof rejected: {v}")
            res[mode]["prove"].append(p["timings_ms"]["prove"])
            res[mode]["verify"].append(v["timings_ms"]["verify"])
            res[mode]["bytes"].append(p["proof_bytes"])
            log(f"{name} rep {r} {mode}: prove {p['timings_ms']['prove']:.0f} ms, "
                f"verify {v['timings_ms']['verify']:.1f} ms, {p['proof_bytes']} B")
    return name, res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--zkinfer", default=os.path.join(ROOT, "target", "release", "zkinfer"))
    a = ap.parse_args()
    models = a.models or [os.path.join(ROOT, "examples", "models", "small_cnn"),
                          os.path.join(PEER, "lenet_5"), os.path.join(PEER, "nanoGPT")]
    med = statistics.median
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for m in models:
            name, r = bench(a.zkinfer, m, a.reps, work)
            p, k = r["plain"], r["masked"]
            rows.append(
                f"| {name} | {med(p['prove']):.0f} → {med(k['prove']):.0f} ms "
                f"({med(k['prove']) / med(p['prove']):.2f}×) "
                f"| {med(p['verify']):.1f} → {med(k['verify']):.1f} ms "
                f"({med(k['verify']) / med(p['verify']):.2f}×) "
                f"| {med(p['bytes']) / 1024:.0f} → {med(k['bytes']) / 1024:.0f} KiB "
                f"({med(k['bytes']) / med(p['bytes']):.2f}×) |")
    print(f"Masked walk vs plain, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"median of {a.reps}:\n")
    print("| model | prove plain → masked | verify | proof |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
