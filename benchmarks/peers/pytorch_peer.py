#!/usr/bin/env python3
"""PyTorch peer of `meta-gpu bench` on a GPU: the same workloads on the same data, on the same GPU, same run.

The development machines have no GPU and no torch; it is written for the lent GPU machine (DEVICE.md: python3
there has torch). The workloads ran there on an NVIDIA H200 (torch 2.11.0+cu130); the bandwidth figures below
were added after that run and are untested on a GPU. Reads the files `meta-gpu bench` writes (row-major N x D little-endian
float32 batch.f32, N float64 confidences.f64, D float32 prior.f32), uploads them to the device once (resident,
as the engine keeps its batch resident), and prints one JSON object:
  {"peer": "pytorch", "version": ..., "device": <name>, "read_gbs": ..., "copy_gbs": ..., "read_mb": ...,
   "results": {workload: {"times_ms": [...]}}}
or {"skipped": "<reason>"} when torch or the device is missing.

With --results DIR, after a workload's timed calls (outside them) it makes one more call from the original prior
and writes its result to DIR/<workload>.f32 (D little-endian float32: the aggregate, or the stepped prior), which
the harness checks against the engine's result on the same batch; a failure there is reported as
"result_skipped" in the workload's entry, never at the cost of its times.

Bandwidth (the reference `meta-gpu bench` falls back to for these rows when the engine measured no cuda figure in
the same run): the read stream x.sum() over the resident batch (bytes of x / time) and a device copy, copy_ of x
into a preallocated tensor (bytes read + written / time); each the median of the repeats after the warm-up, timed
with CUDA events. "read_mb" is the size of x: a small batch fits the GPU's L2, so its figure is the cache's.
If the measurement fails, "bandwidth_skipped" says why and the workloads' times are still printed.

Methods: torch.sort over the domain axis then the mean of the kept rows (trimmed mean), the mean of the two
middle sorted rows (median, the same definition as the engine's: torch.median would return the lower one),
p @ X (weighted mean), torch.lerp in place (Reptile step), and trimmed mean then lerp (fused). Each call is
timed with CUDA events around it after the warm-up calls.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--d", type=int, required=True)
    ap.add_argument("--workloads", required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--trim-alpha", type=float, default=0.1)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--budget-s", type=float, default=10.0,
                    help="stop a workload's repeats once 3 are timed and their total passed this (as meta-gpu bench does)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--results", help="folder for each workload's result, <workload>.f32 (checked by meta-gpu bench)")
    args = ap.parse_args()

    try:
        import torch
    except ImportError as e:
        print(json.dumps({"skipped": f"torch is not installed for {sys.executable} ({e})", "missing": "torch"}))
        return 0
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(json.dumps({"skipped": "torch sees no CUDA device"}))
        return 0
    dev = torch.device(args.device)

    def load(name, dtype, count):
        with open(os.path.join(args.data, name), "rb") as f:
            raw = bytearray(f.read())
        return torch.frombuffer(raw, dtype=dtype, count=count)

    n, d = args.n, args.d
    x = load("batch.f32", torch.float32, n * d).reshape(n, d).to(dev)
    w = load("confidences.f64", torch.float64, n)
    p32 = (w / w.sum()).to(torch.float32).to(dev)
    prior = load("prior.f32", torch.float32, d).to(dev)
    prior0 = prior.clone()
    target = x[0].clone()
    k = int(math.floor(args.trim_alpha * n))
    beta = float(args.beta)

    def trimmed_mean():
        s = torch.sort(x, dim=0).values
        return s[k:n - k].mean(dim=0)

    def median():
        s = torch.sort(x, dim=0).values
        return (s[(n - 1) // 2] + s[n // 2]) * 0.5

    def weighted_mean():
        return p32 @ x

    def reptile_step():
        return prior.lerp_(target, beta)

    def fused_trimmed_mean_reptile():
        return prior.lerp_(trimmed_mean(), beta)

    table = {
        "trimmed_mean": trimmed_mean,
        "median": median,
        "weighted_mean": weighted_mean,
        "reptile_step": reptile_step,
        "fused_trimmed_mean_reptile": fused_trimmed_mean_reptile,
    }
    cuda = dev.type == "cuda"

    def timed(fn, warmup, repeats):
        """Per-call milliseconds of fn after warmup calls: CUDA events on a GPU, perf_counter otherwise."""
        for _ in range(warmup):
            fn()
        if cuda:
            torch.cuda.synchronize(dev)
        times = []
        for i in range(repeats):
            if i >= 3 and sum(times) > args.budget_s * 1000.0:
                break
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1000.0)
        return times

    results = {}
    for name in [s for s in args.workloads.split(",") if s]:
        fn = table.get(name)
        if fn is None:
            results[name] = {"skipped": f"the pytorch peer has no {name}"}
            continue
        results[name] = {"times_ms": timed(fn, args.warmup, args.repeats)}
        if args.results:
            # The timed calls stepped the prior again and again (as rounds do); the checked call starts from the
            # prior the engine's checked call starts from.
            prior.copy_(prior0)
            try:
                write_f32(torch, fn(), os.path.join(args.results, name + ".f32"))
            except Exception as e:  # noqa: BLE001 - reported in the output, the times still stand
                results[name]["result_skipped"] = f"{type(e).__name__}: {e}"

    out = {"peer": "pytorch", "version": torch.__version__,
           "device": torch.cuda.get_device_name(dev) if cuda else str(dev)}
    # Any failure here (out of memory, a check that does not hold) costs the figures, never the workloads' times.
    try:
        out.update(bandwidth(torch, x, timed, max(args.warmup, 1), max(args.repeats, 3)))
    except Exception as e:  # noqa: BLE001 - reported in the output, not swallowed
        out["bandwidth_skipped"] = f"{type(e).__name__}: {e}"
    out["results"] = results
    print(json.dumps(out))
    return 0


def write_f32(torch, t, path):
    """t as little-endian float32 in path (through numpy when torch has it, else through the array module)."""
    t = t.detach().to("cpu", torch.float32).contiguous()
    try:
        t.numpy().astype("<f4").tofile(path)
    except (ImportError, RuntimeError):  # a torch built without numpy
        import array
        values = array.array("f", t.tolist())
        if sys.byteorder != "little":
            values.byteswap()
        with open(path, "wb") as f:
            values.tofile(f)


def bandwidth(torch, x, timed, warmup, repeats):
    """Read and copy GB/s of x's device: x.sum() (bytes of x / median time) and copy_ into a preallocated tensor
    (2 x bytes / median time). The sum is checked against a float64 sum, so a stream that did not read x is not
    reported."""
    nbytes = x.numel() * x.element_size()
    total = x.sum()
    exact = x.double().sum()
    if not torch.isclose(total.double(), exact, rtol=1e-3, atol=1e-3 * float(x.abs().sum().double())):
        raise ValueError(f"x.sum() gave {float(total)}, float64 gives {float(exact)}")
    read_ms = statistics.median(timed(lambda: x.sum(), warmup, repeats))
    target = torch.empty_like(x)
    copy_ms = statistics.median(timed(lambda: target.copy_(x), warmup, repeats))
    if not torch.equal(target, x):
        raise ValueError("copy_ did not reproduce x")
    return {"read_gbs": nbytes / (read_ms * 1e-3) / 1e9, "copy_gbs": 2 * nbytes / (copy_ms * 1e-3) / 1e9,
            "read_mb": nbytes / (1 << 20)}


if __name__ == "__main__":
    sys.exit(main())
