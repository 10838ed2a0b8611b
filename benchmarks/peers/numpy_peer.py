#!/usr/bin/env python3
"""numpy peer of `meta-gpu bench`: times the same workloads on the same data, in the same run.

The harness writes the batch it times (row-major N x D little-endian float32, no padding), the N confidences
(float64) and the prior (D float32) to a folder, runs this script, and reads one JSON object from stdout:
  {"peer": "numpy", "version": ..., "results": {workload: {"times_ms": [...]}}}
or {"skipped": "<reason>"} when numpy is missing.

With --results DIR, after a workload's timed calls (outside them) it makes one more call from the original prior
and writes its result to DIR/<workload>.f32 (D little-endian float32: the aggregate, or the stepped prior), which
the harness checks against the engine's result on the same batch; a failure there is reported as
"result_skipped" in the workload's entry, never at the cost of its times.

The methods are the reference module's own approach: np.sort over the domain axis then the mean of the kept
rows (trimmed mean, uniform over the kept rows), np.median, a confidence-weighted mean (p @ X), and lerp for the
Reptile step (prior += beta * (target - prior)). Repeats are timed inside Python with time.perf_counter, after
the warm-up calls, so process start and file reading are not counted.
"""
import argparse
import json
import math
import os
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder with batch.f32, confidences.f64, prior.f32")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--d", type=int, required=True)
    ap.add_argument("--workloads", required=True, help="comma list")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--trim-alpha", type=float, default=0.1)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--budget-s", type=float, default=10.0,
                    help="stop a workload's repeats once 3 are timed and their total passed this (as meta-gpu bench does)")
    ap.add_argument("--results", help="folder for each workload's result, <workload>.f32 (checked by meta-gpu bench)")
    args = ap.parse_args()

    try:
        import numpy as np
    except ImportError as e:
        print(json.dumps({"skipped": f"numpy is not installed for {sys.executable} ({e})", "missing": "numpy"}))
        return 0

    n, d = args.n, args.d
    x = np.fromfile(os.path.join(args.data, "batch.f32"), dtype="<f4", count=n * d).reshape(n, d)
    w = np.fromfile(os.path.join(args.data, "confidences.f64"), dtype="<f8", count=n)
    prior0 = np.fromfile(os.path.join(args.data, "prior.f32"), dtype="<f4", count=d)
    if x.size != n * d or w.size != n or prior0.size != d:
        print(json.dumps({"skipped": "data files are shorter than n x d"}))
        return 0
    p32 = (w / w.sum()).astype(np.float32)
    k = int(math.floor(args.trim_alpha * n))
    beta = np.float32(args.beta)
    target = x[0].copy()
    prior = prior0.copy()

    def trimmed_mean():
        s = np.sort(x, axis=0)
        return s[k:n - k].mean(axis=0)

    def median():
        return np.median(x, axis=0)

    def weighted_mean():
        return p32 @ x

    def reptile_step():
        prior[:] += beta * (target - prior)
        return prior

    def fused_trimmed_mean_reptile():
        prior[:] += beta * (trimmed_mean() - prior)
        return prior

    table = {
        "trimmed_mean": trimmed_mean,
        "median": median,
        "weighted_mean": weighted_mean,
        "reptile_step": reptile_step,
        "fused_trimmed_mean_reptile": fused_trimmed_mean_reptile,
    }
    results = {}
    for name in [s for s in args.workloads.split(",") if s]:
        fn = table.get(name)
        if fn is None:
            results[name] = {"skipped": f"the numpy peer has no {name}"}
            continue
        for _ in range(args.warmup):
            t0 = time.perf_counter()
            fn()
            if time.perf_counter() - t0 > 1.0:  # a call this long: one-off costs are small beside it
                break
        times = []
        for i in range(args.repeats):
            if i >= 3 and sum(times) > args.budget_s * 1000.0:
                break
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000.0)
        results[name] = {"times_ms": times}
        if args.results:
            # The timed calls stepped the prior again and again (as rounds do); the checked call starts from the
            # prior the engine's checked call starts from.
            prior[:] = prior0
            try:
                np.asarray(fn(), dtype="<f4").tofile(os.path.join(args.results, name + ".f32"))
            except Exception as e:  # noqa: BLE001 - reported in the output, the times still stand
                results[name]["result_skipped"] = f"{type(e).__name__}: {e}"
    print(json.dumps({"peer": "numpy", "version": np.__version__, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
