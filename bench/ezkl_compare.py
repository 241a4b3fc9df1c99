#!/usr/bin/env python3
"""Side-by-side benchmark: zkinfer vs. EZKL on EZKL's own example models.

For every model name given on the command line the script reads
``<peer-root>/<name>/network.onnx`` and ``<peer-root>/<name>/input.json`` and proves the
same model on the same input with

* EZKL (Python API): gen_settings -> calibrate_settings -> compile_circuit -> gen_srs
  (generated locally, no download) -> setup -> gen_witness -> prove -> verify, and
* zkinfer (CLI): ``zkinfer compile`` -> ``zkinfer prove`` -> ``zkinfer verify``.

Every phase of both tools runs in its own child process with a timeout, so peak RSS is
measured per phase (``/usr/bin/time -v`` when available, and the kernel's ``wait4``
rusage of the child in any case) and a phase that fails or hangs is recorded as such
instead of stopping the run.

Outputs: a markdown report (stdout and ``--out``, default ``bench/results.md``) and the
raw numbers as JSON (``--json-out``, default ``bench/results.json``).

Only the Python standard library is needed, plus ``ezkl`` for the EZKL half (installed
with pip on first use unless ``--no-install``) and, optionally, ``onnx`` (model stats).

Run ``python3 bench/ezkl_compare.py --help`` for the options; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = ["1l_mlp", "4l_relu_conv_fc", "lenet_5", "large_mlp"]
DEFAULT_PEER_ROOT = "../shared/peer-models/ezkl"
DEFAULT_ZKINFER = "target/release/zkinfer"
GNU_TIME = "/usr/bin/time"
CHILD_MARKER = "__ezkl_phase__"  # argv[1] of the per-phase EZKL child process

# EZKL phases in pipeline order; the first group is what the report calls "setup".
EZKL_SETUP_PHASES = ["settings", "calibrate", "compile", "srs", "setup"]
EZKL_PROVE_PHASES = ["witness", "prove"]
EZKL_PHASES = EZKL_SETUP_PHASES + EZKL_PROVE_PHASES + ["verify"]
ZKINFER_PHASES = ["compile", "prove", "verify"]


def log(msg: str) -> None:
    print(f"[ezkl_compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# EZKL child process: runs exactly one phase and writes a JSON result file.
# --------------------------------------------------------------------------------------

def _maybe_await(value: Any) -> Any:
    """Some ezkl releases return awaitables from calibrate/get_srs/... ; resolve them."""
    import inspect

    if inspect.isawaitable(value):
        import asyncio

        async def _wait() -> Any:
            return await value

        return asyncio.run(_wait())
    return value


def ezkl_child_main(spec_json: str) -> int:
    """Entry point of the child: ``ezkl_compare.py __ezkl_phase__ '<json spec>'``."""
    spec = json.loads(spec_json)
    phase, a, result_path = spec["phase"], spec["args"], spec["result"]
    result: dict[str, Any] = {"phase": phase}
    try:
        import ezkl  # imported here so its import cost is not part of the timed call

        t0 = time.perf_counter()
        if phase == "baseline":  # only `import ezkl`: Python+ezkl RSS floor
            ret: Any = True
        elif phase == "settings":
            ra = ezkl.PyRunArgs()
            ra.input_visibility = a["input_visibility"]
            ra.output_visibility = a["output_visibility"]
            ra.param_visibility = a["param_visibility"]
            ret = ezkl.gen_settings(a["model"], a["settings"], py_run_args=ra)
        elif phase == "calibrate":
            ret = _maybe_await(
                ezkl.calibrate_settings(a["data"], a["model"], a["settings"], a["target"])
            )
        elif phase == "compile":
            ret = ezkl.compile_circuit(a["model"], a["compiled"], a["settings"])
        elif phase == "srs":
            with open(a["settings"]) as f:
                logrows = int(json.load(f)["run_args"]["logrows"])
            result["logrows"] = logrows
            t0 = time.perf_counter()
            ret = _maybe_await(ezkl.gen_srs(a["srs"], logrows))
            ret = True if ret is None else ret  # gen_srs returns None on success
        elif phase == "setup":
            ret = ezkl.setup(a["compiled"], a["vk"], a["pk"], a["srs"])
        elif phase == "witness":
            ret = _maybe_await(ezkl.gen_witness(a["data"], a["compiled"], a["witness"]))
        elif phase == "prove":
            ret = _maybe_await(
                ezkl.prove(a["witness"], a["compiled"], a["pk"], a["proof"], a["srs"])
            )
        elif phase == "verify":
            ret = ezkl.verify(a["proof"], a["settings"], a["vk"], a["srs"])
        else:
            raise ValueError(f"unknown EZKL phase {phase!r}")
        result["elapsed_ms"] = (time.perf_counter() - t0) * 1e3
        result["ok"] = bool(ret)
        if not ret:
            result["error"] = f"ezkl.{phase} returned {ret!r}"
            if phase == "verify":
                result["error"] = "proof did not verify (ezkl.verify returned False)"
    except BaseException as e:  # noqa: BLE001 - report everything to the parent
        result["ok"] = False
        result["error"] = f"{type(e).__name__}: {e}"
        result["traceback"] = traceback.format_exc()
    with open(result_path, "w") as f:
        json.dump(result, f)
    return 0 if result["ok"] else 1


# --------------------------------------------------------------------------------------
# Running a child with timeout + per-process peak RSS.
# --------------------------------------------------------------------------------------

def run_measured(cmd: list[str], log_prefix: Path, timeout_s: float,
                 env: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """Run ``cmd`` in its own process group; stdout/stderr go to ``<log_prefix>.out/.err``.

    Returns wall time, exit code, timeout flag and peak RSS, measured two ways:
    ``rss_wait4_bytes`` (ru_maxrss of the child from ``os.wait4``, which covers the child
    and the descendants it waited for) and ``rss_time_v_bytes`` (GNU ``time -v``'s
    "Maximum resident set size", when /usr/bin/time exists). ``peak_rss_bytes`` is the
    ``time -v`` figure when present, else the ``wait4`` one.
    """
    out_path = log_prefix.with_suffix(".out")
    err_path = log_prefix.with_suffix(".err")
    time_path = log_prefix.with_suffix(".time")
    use_time = os.access(GNU_TIME, os.X_OK)
    full_cmd = ([GNU_TIME, "-v", "-o", str(time_path)] if use_time else []) + cmd
    res: dict[str, Any] = {"cmd": cmd, "timed_out": False}
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full_cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
        deadline = t0 + timeout_s
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if time.perf_counter() > deadline:
                res["timed_out"] = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                pid, status, rusage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        res["wall_ms"] = (time.perf_counter() - t0) * 1e3
    proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen's bookkeeping sane
    res["returncode"] = proc.returncode
    # Linux reports KiB. Caveat: the kernel carries the high-water mark across exec, so
    # this includes the forked copy of *this* Python process (tens of MiB) -- an
    # overestimate for small children. GNU time forks from itself (tiny), so its figure
    # is the accurate one and is preferred below.
    res["rss_wait4_bytes"] = rusage.ru_maxrss * 1024
    res["rss_time_v_bytes"] = None
    if use_time and time_path.exists():
        m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", time_path.read_text())
        if m:
            res["rss_time_v_bytes"] = int(m.group(1)) * 1024
    res["peak_rss_bytes"] = res["rss_time_v_bytes"] or res["rss_wait4_bytes"]
    res["stdout_path"], res["stderr_path"] = str(out_path), str(err_path)
    return res


def tail(path: str, n: int = 400) -> str:
    try:
        text = Path(path).read_text(errors="replace").strip()
    except OSError:
        return ""
    return text[-n:]


# --------------------------------------------------------------------------------------
# EZKL pipeline (parent side)
# --------------------------------------------------------------------------------------

def ensure_ezkl(install: bool, spec: str, find_links: Optional[str]) -> str:
    """Return the ezkl version, pip-installing ``spec`` first if ezkl is not importable."""
    probe = [sys.executable, "-c", "import ezkl,sys;sys.stdout.write(getattr(ezkl,'__version__','?'))"]
    r = subprocess.run(probe, capture_output=True, text=True)
    if r.returncode == 0:
        return r.stdout.strip()
    if not install:
        sys.exit("error: the Python package `ezkl` is not importable and --no-install was given.\n"
                 f"  install it with: {sys.executable} -m pip install ezkl")
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check"]
    if find_links:
        cmd += ["--no-index", "--find-links", find_links]
    cmd.append(spec)
    log(f"ezkl not importable; installing: {' '.join(cmd)}")
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("error: could not install ezkl with pip (no network?).\n"
                 f"  command: {' '.join(cmd)}\n  pip said: {(p.stderr or p.stdout).strip()[-1500:]}\n"
                 "  Fix: install it where there is network (`pip install ezkl`), or download the\n"
                 "  wheel (`pip download ezkl -d WHEELS`) and pass --ezkl-find-links WHEELS.")
    r = subprocess.run(probe, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"error: ezkl installed but `import ezkl` fails:\n{r.stderr.strip()[-1500:]}")
    return r.stdout.strip()


def run_ezkl_phase(phase: str, args: dict[str, Any], work: Path, timeout_s: float,
                   env: dict[str, str]) -> dict[str, Any]:
    result_file = work / f"ezkl_{phase}.result.json"
    spec = {"phase": phase, "args": args, "result": str(result_file)}
    cmd = [sys.executable, str(Path(__file__).resolve()), CHILD_MARKER, json.dumps(spec)]
    r = run_measured(cmd, work / f"ezkl_{phase}", timeout_s, env)
    child: dict[str, Any] = {}
    if result_file.exists():
        try:
            child = json.loads(result_file.read_text())
        except json.JSONDecodeError:
            child = {}
    r.update({k: v for k, v in child.items() if k != "phase"})
    if r["timed_out"]:
        r["status"] = f"timeout after {timeout_s:g} s"
    elif child.get("ok"):
        r["status"] = "ok"
    else:
        reason = child.get("error") or (
            f"exit code {r['returncode']}: {tail(r['stderr_path'], 300) or 'no output'}")
        r["status"] = f"failed: {reason}"
    return r


def ezkl_pipeline(model: Path, data: Path, work: Path, opts: argparse.Namespace,
                  env: dict[str, str]) -> dict[str, Any]:
    files = {
        "model": str(model), "data": str(data),
        "settings": str(work / "settings.json"), "compiled": str(work / "network.compiled"),
        "srs": str(work / "kzg.srs"), "pk": str(work / "pk.key"), "vk": str(work / "vk.key"),
        "witness": str(work / "witness.json"), "proof": str(work / "proof.json"),
        "input_visibility": "public", "output_visibility": "public",
        "param_visibility": opts.param_visibility, "target": opts.calibration_target,
    }
    out: dict[str, Any] = {"phases": {}, "status": "ok"}
    for phase in EZKL_PHASES:
        log(f"  ezkl {phase} ...")
        r = run_ezkl_phase(phase, files, work, opts.timeout, env)
        out["phases"][phase] = r
        log(f"  ezkl {phase}: {r['status']} ({fmt_ms(r.get('elapsed_ms'))}, "
            f"RSS {fmt_bytes(r['peak_rss_bytes'])})")
        if r["status"] != "ok":
            out["status"] = f"{phase}: {r['status']}"
            break
    ph = out["phases"]
    if out["status"] == "ok":
        out["setup_ms"] = sum(ph[p]["elapsed_ms"] for p in EZKL_SETUP_PHASES)
        out["setup_excl_srs_ms"] = out["setup_ms"] - ph["srs"]["elapsed_ms"]
        out["prove_ms"] = sum(ph[p]["elapsed_ms"] for p in EZKL_PROVE_PHASES)
        out["verify_ms"] = ph["verify"]["elapsed_ms"]
        out["peak_rss_prove_bytes"] = max(ph[p]["peak_rss_bytes"] for p in EZKL_PROVE_PHASES)
        out["peak_rss_verify_bytes"] = ph["verify"]["peak_rss_bytes"]
        proof = json.loads(Path(files["proof"]).read_text())
        # Raw proof transcript bytes (what a verifier must receive besides the public
        # instances); the proof.json file also carries hex copies and pretty-printed I/O.
        out["proof_bytes"] = len(proof["proof"]) if isinstance(proof.get("proof"), list) \
            else len(bytes.fromhex(str(proof.get("hex_proof", "")).removeprefix("0x")))
        out["proof_json_file_bytes"] = os.path.getsize(files["proof"])
        out["num_instances"] = sum(len(x) for x in proof.get("instances") or [])
        for k in ("pk", "vk", "srs", "compiled"):
            out[f"{k}_bytes"] = os.path.getsize(files[k])
        settings = json.loads(Path(files["settings"]).read_text())
        out["settings"] = {k: settings.get("run_args", {}).get(k) for k in (
            "logrows", "input_scale", "param_scale", "scale_rebase_multiplier",
            "lookup_range", "input_visibility", "output_visibility", "param_visibility",
            "check_mode")}
        out["settings"]["num_rows"] = settings.get("num_rows")
        witness = json.loads(Path(files["witness"]).read_text())
        try:
            out["output"] = [[float(v) for v in o]
                             for o in witness["pretty_elements"]["rescaled_outputs"]]
        except (KeyError, TypeError, ValueError):
            out["output"] = None
    if ph:
        out["peak_rss_bytes"] = max(r["peak_rss_bytes"] for r in ph.values())
    return out


# --------------------------------------------------------------------------------------
# zkinfer pipeline
# --------------------------------------------------------------------------------------

def run_zkinfer_phase(name: str, cmd: list[str], work: Path, timeout_s: float,
                      env: dict[str, str], expect_valid: bool = False) -> dict[str, Any]:
    r = run_measured(cmd, work / f"zkinfer_{name}", timeout_s, env)
    report = None
    try:
        text = Path(r["stdout_path"]).read_text().strip()
        # The CLI prints one JSON object; tolerate stray lines before it.
        start = text.find("{")
        report = json.loads(text[start:]) if start >= 0 else None
    except (OSError, json.JSONDecodeError):
        report = None
    r["report"] = report
    if r["timed_out"]:
        r["status"] = f"timeout after {timeout_s:g} s"
    elif expect_valid and report is not None and report.get("valid") is False:
        r["status"] = "failed: proof did not verify (valid=false)"
    elif r["returncode"] != 0:
        r["status"] = (f"failed: exit code {r['returncode']}: "
                       f"{tail(r['stderr_path'], 300) or tail(r['stdout_path'], 300) or 'no output'}")
    elif report is None:
        r["status"] = "failed: could not parse the JSON report on stdout"
    else:
        r["status"] = "ok"
    if report is not None:
        tm = report.get("timings_ms") or {}
        r["elapsed_ms"] = tm.get("total", sum(v for v in tm.values()
                                              if isinstance(v, (int, float))) or None)
        r["self_reported_rss_bytes"] = report.get("peak_rss_bytes")
    return r


def zkinfer_pipeline(binary: Path, model: Path, data: Path, work: Path,
                     opts: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    d = work / "zkinfer"
    d.mkdir(exist_ok=True)
    zkm, vk, proof = d / "model.zkm", d / "model.vk", work / "zkinfer.proof"
    compile_cmd = [str(binary), "compile", str(model)]
    if not opts.zkinfer_no_calibration:
        compile_cmd += ["--calibration", str(data)]  # same calibration data EZKL gets
    compile_cmd += ["-o", str(d), "--json"]
    steps = [
        ("compile", compile_cmd, False),
        ("prove", [str(binary), "prove", str(zkm), "--input", str(data), "-o", str(proof),
                   "--json"], False),
        ("verify", [str(binary), "verify", str(proof), "--vk", str(vk), "--json"], True),
    ]
    out: dict[str, Any] = {"phases": {}, "status": "ok"}
    for name, cmd, expect_valid in steps:
        log(f"  zkinfer {name} ...")
        r = run_zkinfer_phase(name, cmd, work, opts.timeout, env, expect_valid)
        if name == "prove" and r["status"] == "ok" and opts.zkinfer_prove_samples > 1:
            # A ~0.1 s process varies by ±15 % from run to run: prove several times (each a
            # fresh process writing the same proof) and keep the median run's record.
            runs = [r]
            for _ in range(opts.zkinfer_prove_samples - 1):
                runs.append(run_zkinfer_phase(name, cmd, work, opts.timeout, env, expect_valid))
            if all(x["status"] == "ok" for x in runs):
                runs.sort(key=lambda x: x["elapsed_ms"])
                r = runs[len(runs) // 2]
                out["prove_samples_ms"] = [x["elapsed_ms"] for x in runs]
            else:
                r = next(x for x in runs if x["status"] != "ok")
        out["phases"][name] = r
        log(f"  zkinfer {name}: {r['status']} ({fmt_ms(r.get('elapsed_ms'))}, "
            f"RSS {fmt_bytes(r['peak_rss_bytes'])})")
        if r["status"] != "ok":
            out["status"] = f"{name}: {r['status']}"
            break
    ph = out["phases"]
    if out["status"] == "ok":
        out["compile_ms"] = ph["compile"]["elapsed_ms"]
        out["prove_ms"] = ph["prove"]["elapsed_ms"]
        out["verify_ms"] = ph["verify"]["elapsed_ms"]
        out["peak_rss_prove_bytes"] = ph["prove"]["peak_rss_bytes"]
        out["peak_rss_verify_bytes"] = ph["verify"]["peak_rss_bytes"]
        prep = ph["prove"]["report"]
        out["proof_bytes"] = prep.get("proof_bytes") or os.path.getsize(proof)
        out["proof_file_bytes"] = os.path.getsize(proof)
        crep = ph["compile"]["report"]
        out["zkm_bytes"] = crep.get("zkm_bytes")
        out["vk_bytes"] = crep.get("vk_bytes")
        out["commitment"] = crep.get("commitment")
        out["fidelity"] = crep.get("fidelity")
        out["output"] = prep.get("output")
        out["verified_output"] = ph["verify"]["report"].get("output")
    if ph:
        out["peak_rss_bytes"] = max(r["peak_rss_bytes"] for r in ph.values())
    return out


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------

def fmt_ms(ms: Optional[float]) -> str:
    if ms is None:
        return "—"
    if ms < 1:
        return f"{ms * 1e3:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{ms / 1e3:.2f} s"


def fmt_bytes(n: Optional[float]) -> str:
    if n is None:
        return "—"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def fmt_ratio(a: Optional[float], b: Optional[float]) -> str:
    if not a or not b:
        return "—"
    r = a / b
    return f"{r:.2f}×" if r < 10 else f"{r:.0f}×" if r >= 100 else f"{r:.1f}×"


def max_abs_err(out: Optional[list], ref: Optional[list]) -> Optional[float]:
    if not out or not ref:
        return None
    try:
        flat_o = [float(x) for row in out for x in row]
        flat_r = [float(x) for row in ref for x in row]
    except (TypeError, ValueError):
        return None
    if len(flat_o) != len(flat_r):
        return None
    return max((abs(x - y) for x, y in zip(flat_o, flat_r)), default=0.0)


def model_stats(model: Path) -> dict[str, Any]:
    try:
        import onnx  # optional
        from onnx import numpy_helper  # noqa: F401
    except ImportError:
        return {}
    try:
        m = onnx.load(str(model))
        params = 0
        for t in m.graph.initializer:
            n = 1
            for dim in t.dims:
                n *= dim
            params += n
        ops: dict[str, int] = {}
        for node in m.graph.node:
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
        return {"params": params, "nodes": len(m.graph.node), "ops": ops}
    except Exception as e:  # noqa: BLE001
        return {"error": str(e)}


def machine_info(ezkl_version: Optional[str], binary: Optional[Path]) -> dict[str, Any]:
    info: dict[str, Any] = {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "hostname": platform.node(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "ezkl_version": ezkl_version,
    }
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        info["cpu_model"] = m.group(1).strip() if m else None
        flags = re.search(r"^flags\s*:\s*(.+)$", cpuinfo, re.M)
        if flags:
            info["cpu_simd"] = [f for f in ("avx2", "avx512f", "avx512ifma", "sha_ni", "adx")
                                if f in flags.group(1).split()]
    except OSError:
        info["cpu_model"] = platform.processor() or None
    try:
        m = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        info["mem_total_bytes"] = int(m.group(1)) * 1024 if m else None
    except OSError:
        pass
    try:
        info["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    try:
        info["git_commit"] = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True).stdout.strip() or None
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain"],
                               capture_output=True, text=True).stdout.strip()
        info["git_dirty"] = bool(dirty)
    except OSError:
        pass
    if binary is not None:
        try:
            v = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                               timeout=30)
            info["zkinfer_version"] = v.stdout.strip() or None
        except (OSError, subprocess.TimeoutExpired):
            info["zkinfer_version"] = None
    info["rss_tool"] = "GNU time -v" if os.access(GNU_TIME, os.X_OK) else "wait4 ru_maxrss"
    return info


def render_markdown(results: dict[str, Any]) -> str:
    mi, opts, models = results["machine"], results["options"], results["models"]
    L: list[str] = []
    L.append("# zkinfer vs. EZKL")
    L.append("")
    L.append(f"- date: {mi['date_utc']}; host: {mi.get('hostname')}; git: "
             f"{mi.get('git_commit')}{' (dirty)' if mi.get('git_dirty') else ''}")
    L.append(f"- CPU: {mi.get('cpu_model')} ({', '.join(mi.get('cpu_simd') or [])}); "
             f"nproc: {mi.get('nproc')}; memory: {fmt_bytes(mi.get('mem_total_bytes'))}; "
             f"load avg at start: {', '.join(f'{x:.2f}' for x in mi.get('loadavg_start', []))}"
             f"; at end: {', '.join(f'{x:.2f}' for x in mi.get('loadavg_end', []))}")
    L.append(f"- ezkl {mi.get('ezkl_version')} (Python API, CPU wheel); zkinfer: "
             f"{mi.get('zkinfer_version') or opts.get('zkinfer')}; Python {mi.get('python')}")
    L.append(f"- EZKL settings: input/output visibility public, param visibility "
             f"`{opts['param_visibility']}`, calibrate target `{opts['calibration_target']}` "
             f"(calibrated on the model's input.json), SRS generated locally with "
             f"`ezkl.gen_srs`. zkinfer compile calibration: "
             f"{'none' if opts['zkinfer_no_calibration'] else 'the same input.json'}.")
    base = mi.get("ezkl_baseline_rss_bytes")
    L.append(f"- Peak RSS: {mi.get('rss_tool')} per phase (own process each)"
             + (f"; `python -c 'import ezkl'` alone is {fmt_bytes(base)}" if base else "")
             + f". Per-phase timeout {opts['timeout']:g} s"
             + (f"; RAYON_NUM_THREADS={opts['threads']}" if opts.get("threads") else "") + ".")
    L.append("")
    L.append("Times are measured inside each process (EZKL: around the API call; zkinfer: its "
             "`timings_ms.total`). EZKL setup = settings + calibrate + compile + SRS + setup; "
             "EZKL prove = gen_witness + prove. Proof bytes: EZKL's raw proof transcript "
             "(`proof.json` → `proof`, public instances not included); zkinfer's `proof_bytes`.")
    L.append("")

    def cell(tool: Optional[dict], key: str, f) -> str:
        if tool is None:
            return "skipped"
        if tool.get("status") != "ok":
            return "failed" if "timeout" not in tool["status"] else "timeout"
        return f(tool.get(key))

    L.append("## Summary")
    L.append("")
    L.append("| model | EZKL setup | zkinfer compile | EZKL prove | zkinfer prove | EZKL verify "
             "| zkinfer verify | EZKL proof | zkinfer proof | EZKL peak RSS | zkinfer peak RSS |")
    L.append("|---|" + "---:|" * 10)
    for name, r in models.items():
        e, z = r.get("ezkl"), r.get("zkinfer")
        L.append("| " + " | ".join([
            name,
            cell(e, "setup_ms", fmt_ms), cell(z, "compile_ms", fmt_ms),
            cell(e, "prove_ms", fmt_ms), cell(z, "prove_ms", fmt_ms),
            cell(e, "verify_ms", fmt_ms), cell(z, "verify_ms", fmt_ms),
            cell(e, "proof_bytes", fmt_bytes), cell(z, "proof_bytes", fmt_bytes),
            cell(e, "peak_rss_bytes", fmt_bytes), cell(z, "peak_rss_bytes", fmt_bytes),
        ]) + " |")
    L.append("")

    def ok(t: Optional[dict]) -> bool:
        return bool(t) and t.get("status") == "ok"

    if any(ok(r.get("ezkl")) and ok(r.get("zkinfer")) for r in models.values()):
        L.append("## Ratios EZKL / zkinfer (higher = zkinfer better)")
        L.append("")
        L.append("| model | setup / compile | setup excl. SRS / compile | prove | verify "
                 "| proof size | peak RSS (all phases) | peak RSS (prove) |")
        L.append("|---|" + "---:|" * 7)
        for name, r in models.items():
            e, z = r.get("ezkl"), r.get("zkinfer")
            if not (ok(e) and ok(z)):
                continue
            L.append("| " + " | ".join([
                name,
                fmt_ratio(e["setup_ms"], z["compile_ms"]),
                fmt_ratio(e["setup_excl_srs_ms"], z["compile_ms"]),
                fmt_ratio(e["prove_ms"], z["prove_ms"]),
                fmt_ratio(e["verify_ms"], z["verify_ms"]),
                fmt_ratio(e["proof_bytes"], z["proof_bytes"]),
                fmt_ratio(e["peak_rss_bytes"], z["peak_rss_bytes"]),
                fmt_ratio(e["peak_rss_prove_bytes"], z["peak_rss_prove_bytes"]),
            ]) + " |")
        L.append("")

    if any(ok(r.get("ezkl")) for r in models.values()):
        L.append("## EZKL detail")
        L.append("")
        L.append("| model | params | logrows | scales (in/param) | " + " | ".join(EZKL_PHASES)
                 + " | pk | vk | SRS | RSS setup | RSS prove | max abs err vs float |")
        L.append("|---|" + "---:|" * (3 + len(EZKL_PHASES) + 6))
        for name, r in models.items():
            e = r.get("ezkl")
            if not ok(e):
                continue
            s, ph = e["settings"], e["phases"]
            L.append("| " + " | ".join(
                [name, str(r.get("model_stats", {}).get("params", "—")), str(s.get("logrows")),
                 f"{s.get('input_scale')}/{s.get('param_scale')}"]
                + [fmt_ms(ph[p]["elapsed_ms"]) for p in EZKL_PHASES]
                + [fmt_bytes(e["pk_bytes"]), fmt_bytes(e["vk_bytes"]), fmt_bytes(e["srs_bytes"]),
                   fmt_bytes(ph["setup"]["peak_rss_bytes"]), fmt_bytes(e["peak_rss_prove_bytes"]),
                   _fmt_err(r.get("ezkl_max_abs_err"))]) + " |")
        L.append("")

    if any(ok(r.get("zkinfer")) for r in models.values()):
        L.append("## zkinfer detail")
        L.append("")
        L.append("| model | compile | prove | verify | .zkm | vk | RSS compile | RSS prove "
                 "| RSS verify | RSS prove (self-reported) | max abs err vs float |")
        L.append("|---|" + "---:|" * 10)
        for name, r in models.items():
            z = r.get("zkinfer")
            if not ok(z):
                continue
            ph = z["phases"]
            L.append("| " + " | ".join([
                name, fmt_ms(z["compile_ms"]), fmt_ms(z["prove_ms"]), fmt_ms(z["verify_ms"]),
                fmt_bytes(z.get("zkm_bytes")), fmt_bytes(z.get("vk_bytes")),
                fmt_bytes(ph["compile"]["peak_rss_bytes"]), fmt_bytes(ph["prove"]["peak_rss_bytes"]),
                fmt_bytes(ph["verify"]["peak_rss_bytes"]),
                fmt_bytes(ph["prove"].get("self_reported_rss_bytes")),
                _fmt_err(r.get("zkinfer_max_abs_err"))]) + " |")
        L.append("")

    samples = [(n, r["zkinfer"]["prove_samples_ms"]) for n, r in models.items()
               if ok(r.get("zkinfer")) and r["zkinfer"].get("prove_samples_ms")]
    if samples:
        L.append("zkinfer prove is the median of several runs (fresh process each; EZKL proves "
                 "once). All samples, sorted:")
        L.append("")
        for n, xs in samples:
            L.append(f"- {n}: " + ", ".join(fmt_ms(x) for x in xs))
        L.append("")

    notes = []
    for name, r in models.items():
        if r.get("error"):
            notes.append(f"- {name}: {r['error']}")
        for tool in ("ezkl", "zkinfer"):
            t = r.get(tool)
            if t and t.get("status") != "ok":
                notes.append(f"- {name} / {tool}: {t['status']}")
    if notes:
        L.append("## Failures")
        L.append("")
        L.extend(n.replace("\n", " ") for n in notes)
        L.append("")
    return "\n".join(L)


def _fmt_err(x: Optional[float]) -> str:
    return "—" if x is None else f"{x:.2e}"


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------

def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Prove EZKL's example models with EZKL and zkinfer and compare time, "
                    "proof size and peak RSS.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("models", nargs="*", default=DEFAULT_MODELS,
                   help="model directory names under --peer-root")
    p.add_argument("--peer-root", default=DEFAULT_PEER_ROOT,
                   help="directory with <model>/network.onnx and <model>/input.json "
                        "(relative paths are relative to the repo root)")
    p.add_argument("--zkinfer", default=DEFAULT_ZKINFER,
                   help="zkinfer binary (relative to the repo root unless absolute); build "
                        "with `cargo build --release -p zkinfer-cli`")
    only = p.add_mutually_exclusive_group()
    only.add_argument("--ezkl-only", action="store_true", help="run only EZKL")
    only.add_argument("--zkinfer-only", action="store_true", help="run only zkinfer")
    p.add_argument("--out", default="bench/results.md", help="markdown report path (relative to the repo root)")
    p.add_argument("--json-out", default="bench/results.json", help="raw-numbers JSON path (relative to the repo root)")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="per-phase timeout in seconds (each phase of each tool)")
    p.add_argument("--threads", type=int, default=None,
                   help="set RAYON_NUM_THREADS for both tools (unset: all cores)")
    p.add_argument("--param-visibility", default="fixed", choices=["fixed", "private"],
                   help="EZKL param_visibility (fixed = weights baked into the circuit / vk)")
    p.add_argument("--calibration-target", default="resources",
                   choices=["resources", "accuracy"], help="EZKL calibrate_settings target")
    p.add_argument("--zkinfer-prove-samples", type=int, default=5,
                   help="prove this many times with zkinfer (fresh process each) and report "
                        "the median run; EZKL proves once (each of its proofs takes minutes)")
    p.add_argument("--zkinfer-no-calibration", action="store_true",
                   help="do not pass the input as --calibration to `zkinfer compile`")
    p.add_argument("--workdir", default=None,
                   help="keep per-model artifacts and logs here (relative to the repo root; "
                        "unset: a temp dir, deleted at the end unless --keep-work)")
    p.add_argument("--keep-work", action="store_true", help="keep the temp work dir")
    p.add_argument("--no-install", action="store_true",
                   help="never pip-install ezkl; fail if it is not importable")
    p.add_argument("--ezkl-spec", default="ezkl==23.0.5",
                   help="pip requirement used when ezkl is not importable (23.0.5 is the tested version)")
    p.add_argument("--ezkl-find-links", default=None,
                   help="install ezkl offline from this wheel directory (pip --no-index)")
    return p.parse_args(argv)


def resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else (REPO_ROOT / p).resolve()


def main(argv: list[str]) -> int:
    opts = parse_args(argv)
    peer_root = resolve(opts.peer_root)
    run_ezkl, run_zk = not opts.zkinfer_only, not opts.ezkl_only
    binary = resolve(opts.zkinfer) if run_zk else None
    if binary is not None and not os.access(binary, os.X_OK):
        sys.exit(f"error: zkinfer binary {binary} not found or not executable.\n"
                 "  build it with `cargo build --release -p zkinfer-cli`, pass --zkinfer PATH, "
                 "or use --ezkl-only.")
    missing = [m for m in opts.models
               if not (peer_root / m / "network.onnx").is_file()
               or not (peer_root / m / "input.json").is_file()]
    if missing:
        sys.exit(f"error: no network.onnx/input.json under {peer_root} for: {', '.join(missing)}")

    env = dict(os.environ)
    if opts.threads:
        env["RAYON_NUM_THREADS"] = str(opts.threads)

    ezkl_version = ensure_ezkl(not opts.no_install, opts.ezkl_spec, opts.ezkl_find_links) \
        if run_ezkl else None
    machine = machine_info(ezkl_version, binary)

    if opts.workdir:
        work_root = resolve(opts.workdir)
        work_root.mkdir(parents=True, exist_ok=True)
        cleanup = False
    else:
        work_root = Path(tempfile.mkdtemp(prefix="ezkl_compare_"))
        cleanup = not opts.keep_work
    log(f"work dir: {work_root}")

    if run_ezkl:
        r = run_ezkl_phase("baseline", {}, work_root, 120, env)
        machine["ezkl_baseline_rss_bytes"] = r["peak_rss_bytes"] if r["status"] == "ok" else None

    results: dict[str, Any] = {
        "machine": machine,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(opts).items()},
        "models": {},
    }
    results["options"]["peer_root"] = str(peer_root)
    results["options"]["zkinfer"] = str(binary) if binary else None

    for name in opts.models:
        log(f"model {name}")
        model, data = peer_root / name / "network.onnx", peer_root / name / "input.json"
        entry: dict[str, Any] = {"model_stats": model_stats(model)}
        ref = None
        ref_path = peer_root / name / "float_output.json"
        if ref_path.is_file():
            try:
                ref = json.loads(ref_path.read_text()).get("output_data")
            except (OSError, json.JSONDecodeError):
                ref = None
        try:
            if run_ezkl:
                w = work_root / name / "ezkl"
                w.mkdir(parents=True, exist_ok=True)
                entry["ezkl"] = ezkl_pipeline(model, data, w, opts, env)
                entry["ezkl_max_abs_err"] = max_abs_err(entry["ezkl"].get("output"), ref)
            if run_zk:
                w = work_root / name / "zkinfer"
                w.mkdir(parents=True, exist_ok=True)
                entry["zkinfer"] = zkinfer_pipeline(binary, model, data, w, opts, env)
                entry["zkinfer_max_abs_err"] = max_abs_err(entry["zkinfer"].get("output"), ref)
        except Exception as e:  # noqa: BLE001 - keep going with the other models
            entry["error"] = f"{type(e).__name__}: {e}"
            log(f"  error: {entry['error']}\n{traceback.format_exc()}")
        results["models"][name] = entry

    try:
        machine["loadavg_end"] = os.getloadavg()
    except OSError:
        pass
    md = render_markdown(results)
    print(md)
    out_md, out_json = resolve(opts.out), resolve(opts.json_out)
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_md.write_text(md + "\n")
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    log(f"wrote {out_md} and {out_json}")

    if cleanup:
        shutil.rmtree(work_root, ignore_errors=True)
    else:
        log(f"artifacts and logs kept in {work_root}")
    all_ok = all(t.get("status") == "ok" for r in results["models"].values()
                 for t in (r.get("ezkl"), r.get("zkinfer")) if t is not None) \
        and not any(r.get("error") for r in results["models"].values())
    return 0 if all_ok else 1


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == CHILD_MARKER:
        sys.exit(ezkl_child_main(sys.argv[2]))
    sys.exit(main(sys.argv[1:]))
