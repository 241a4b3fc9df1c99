#!/usr/bin/env python3
"""Runs compile -> prove -> verify for every model under $OPSWEEP_DIR/models (default
/tmp/zkinfer-opsweep) with the release CLI ($ZKINFER, default target/release/zkinfer) and
writes results.json and REPORT.md."""
import json, os, subprocess, sys, time
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
Z = os.environ.get("ZKINFER", os.path.join(REPO, "target/release/zkinfer"))
OUT = os.environ.get("OPSWEEP_DIR", "/tmp/zkinfer-opsweep")
ROOT = os.path.join(OUT, "models")
ALT = os.environ.get("ALT") == "1"  # prove on input2.json (unseen, unrounded)
FID_TOL = 0.02  # max rel err (vs max|ref|) above which we call it a fidelity problem


def call(args):
    t = time.time()
    p = subprocess.run(["timeout", "120"] + args, capture_output=True, text=True)
    dt = time.time() - t
    js = None
    try:
        js = json.loads(p.stdout.strip().splitlines()[-1]) if p.stdout.strip() else None
    except Exception:
        try:
            js = json.loads(p.stdout)
        except Exception:
            js = None
    return p.returncode, js, p.stdout, p.stderr, dt


def first_err(stdout, stderr, rc):
    lines = [l for l in stderr.splitlines() if l.strip()]
    if not lines:
        lines = [l for l in stdout.splitlines() if l.strip()]
    msg = lines[0].strip() if lines else ""
    if rc == 124:
        msg = "TIMEOUT (120 s) " + msg
    return msg


def run_one(name):
    d = os.path.join(ROOT, name)
    ref = json.load(open(os.path.join(d, "ref.json")))
    r = {"name": name, "op": ref["op"], "ort": ref.get("ort", ref.get("build"))}
    if "build" in ref:
        r.update(result="build error (script)", err=ref["build"])
        return r
    out = os.path.join(d, "out")
    os.makedirs(out, exist_ok=True)
    steps = [
        ("compile", [Z, "compile", f"{d}/network.onnx", "--calibration", f"{d}/input.json", "-o", out, "--json"]),
        ("prove", [Z, "prove", f"{out}/model.zkm", "--input", f"{d}/input2.json" if ALT else f"{d}/input.json", "-o", f"{out}/proof.bin", "--json"]),
        ("verify", [Z, "verify", f"{out}/proof.bin", "--vk", f"{out}/model.vk", "--json"]),
    ]
    for step, args in steps:
        rc, js, so, se, dt = call(args)
        r[f"{step}_s"] = round(dt, 3)
        r[f"{step}_json"] = js
        if rc != 0:
            r.update(result=f"{step} error", err=first_err(so, se, rc), stderr=se[-2000:])
            return r
    if (r["verify_json"] or {}).get("valid") is not True:
        r.update(result="verify error", err="verify exited 0 but valid != true")
        return r
    vout = (r["verify_json"] or {}).get("output")
    vsh = (r["verify_json"] or {}).get("output_shapes")
    if ref.get("ref_shapes") is not None and vsh is not None and \
            [list(s) for s in vsh] != [list(s) for s in ref["ref_shapes"]]:
        r["note"] = f"shape {vsh} vs ORT {ref['ref_shapes']}"
    pout = (r["prove_json"] or {}).get("output")
    r["verified_output"] = vout
    if vout is not None and pout is not None and vout != pout:
        r["note"] = "verify output != prove output"
    if ref.get("ort") != "ok":
        r.update(result="verified (no ORT reference)", err=ref.get("ort", ""))
        return r
    refs = ref["ref2"] if ALT else ref["ref"]
    if vout is None or len(vout) != len(refs):
        r.update(result="fidelity problem", err=f"output count {None if vout is None else len(vout)} vs ORT {len(refs)}")
        return r
    mabs, mrel = 0.0, 0.0
    for a, b in zip(vout, refs):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a.size != b.size:
            r.update(result="fidelity problem", err=f"output size {a.size} vs ORT {b.size}")
            return r
        e = float(np.max(np.abs(a - b))) if a.size else 0.0
        s = float(np.max(np.abs(b))) if b.size else 0.0
        mabs = max(mabs, e)
        mrel = max(mrel, e / s if s > 0 else (0.0 if e == 0 else float("inf")))
    r["max_abs"], r["max_rel"] = mabs, mrel
    r["result"] = "verified" if mrel <= FID_TOL else "fidelity problem"
    if r["result"] == "fidelity problem":
        r["err"] = f"max rel err {mrel:.3g} > {FID_TOL}"
    return r


def fmt(x):
    return "" if x is None else f"{x:.2e}"


def alt_cell(a):
    if not a:
        return ""
    return fmt(a.get("max_rel")) if a["result"] == "verified" else a["result"]


def report(results):
    fails = [r for r in results if r["result"] != "verified"]
    L = ["# zkinfer ONNX op sweep", "",
         f"Binary: `{Z}` (commit {subprocess.run(['git','-C',REPO,'rev-parse','--short','HEAD'],capture_output=True,text=True).stdout.strip()}). "
         f"Each model: compile (calibrated on its own input.json) -> prove -> verify; the verify JSON's `output` is compared "
         f"with onnxruntime {__import__('onnxruntime').__version__} on the same input. "
         f"max rel err = max|zk - ort| / max|ort| over all outputs; `fidelity problem` if > {FID_TOL}. "
         "Inputs uniform in [-2,2] (rounded to 1/1024) unless noted (positive for Log/Sqrt/Reciprocal/Pow 0.5; [-4,4] for Hard*/Cast; multiples of 0.5 for Equal).",
         "", f"**{len(results) - len(fails)} of {len(results)} models verified with fidelity.**", ""]
    alt = {}
    if os.path.exists(os.path.join(OUT, "results_alt.json")):
        alt = {x["name"]: x for x in json.load(open(os.path.join(OUT, "results_alt.json")))}
    if alt:
        alt_fails = [a for a in alt.values() if a["result"] != "verified"]
        L += [f"Unseen-input column: the same compiled model proven on a second, unrounded sample from the same range "
              f"(input2.json), not the calibration sample: {len(alt) - len(alt_fails)} of {len(alt)} verified with fidelity.", ""]
        for a in alt_fails:
            L.append(f"- unseen input, **{a['name']}**: {a['result']} — `{(a.get('err') or '')[:200]}`")
        L.append("")
    else:
        L += ["Unseen-input column: empty (run `ALT=1 python3 run.py` first).", ""]
    L += ["## Failing models", ""]
    for r in fails:
        L.append(f"- **{r['name']}** ({r['op']}): {r['result']} — `{(r.get('err') or '')[:200]}`")
    L += ["", "## All models", "",
          "| model | op | result | first line of error | max abs err | max rel err | unseen-input max rel err | compile/prove/verify s |",
          "|---|---|---|---|---|---|---|---|"]
    for r in results:
        err = (r.get("err") or "").replace("|", "\\|").replace("\n", " ")
        if len(err) > 220:
            err = err[:220] + "…"
        t = "/".join(str(r.get(k, "")) for k in ("compile_s", "prove_s", "verify_s"))
        note = f" ({r['note']})" if r.get("note") else ""
        L.append(f"| {r['name']} | {r['op']} | {r['result']}{note} | {('`'+err+'`') if err else ''} | "
                 f"{fmt(r.get('max_abs'))} | {fmt(r.get('max_rel'))} | {alt_cell(alt.get(r['name']))} | {t} |")
    open(os.path.join(OUT, "REPORT.md"), "w").write("\n".join(L) + "\n")


def main():
    names = sys.argv[1:] or json.load(open(os.path.join(ROOT, "index.json")))
    results = []
    for n in names:
        r = run_one(n)
        print(f"{n:32s} {r['result']:22s} {fmt(r.get('max_abs')):10s} {fmt(r.get('max_rel')):10s} {(r.get('err') or '')[:150]}", flush=True)
        results.append(r)
    if ALT:
        json.dump(results, open(os.path.join(OUT, "results_alt.json"), "w"), indent=1)
        return
    json.dump(results, open(os.path.join(OUT, "results.json"), "w"), indent=1)
    report(results)


if __name__ == "__main__":
    main()
