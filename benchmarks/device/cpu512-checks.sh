#!/usr/bin/env bash
# The cpu backend's AVX-512 path on a lent GPU machine's host (no GPU work): the trimmed mean's Vector512 selection
# pass against the same build with AVX-512 turned off in the runtime (DOTNET_PreferredVectorBitWidth=256, which makes
# Vector512.IsHardwareAccelerated false, and DOTNET_EnableAVX512F=0 with its .NET 10 name,
# which leaves the Vector256 kernels), alternating, on two of the host's cores (the issue's 2-core AVX-512 machine,
# as GPU_CHECKS_CPU2 in gpu-checks.sh stands in for it) and on all of them, with numpy's trimmed mean in the 2-core
# runs (the issue's >= 50x), the median and weighted median beside them (the other 2-core targets, unchanged
# kernels). CPU512_RUNS (default 3) pairs of 2-core runs.
# Pack first, here: benchmarks/device/pack.sh; then on the device machine, from the project root, with .device
# carried: bash benchmarks/device/cpu512-checks.sh. Results go to $OUT; a summary ends the output.
set -uo pipefail
source "$(dirname "$0")/device-env.sh"
off=(env DOTNET_PreferredVectorBitWidth=256 DOTNET_EnableAVX512F=0 DOTNET_EnableAVX512=0)
two=(env DOTNET_PROCESSOR_COUNT=2 taskset -c 0,1)
cli=(dotnet /tmp/apps/Meta.Gpu.Cli/meta-gpu.dll)

say "== host: $(lscpu | grep -m1 'Model name' | sed 's/  */ /g'); $(nproc) cores; flags: $(grep -o -m1 -w 'avx512f\|avx512bw\|avx512vl' /proc/cpuinfo | sort -u | tr '\n' ' ')"
"${cli[@]}" devices 2>&1 | grep -E "^ *cpu" | tee -a "$summary"
"${off[@]}" "${cli[@]}" devices 2>&1 | grep -E "^ *cpu" | sed 's/^/(AVX-512 off) /' | tee -a "$summary"

bench() { # name, then the command's prefix up to the bench arguments, then --, then them
  local name=$1; shift
  local pre=()
  while [ "$1" != -- ]; do pre+=("$1"); shift; done; shift
  local t=$SECONDS
  "${pre[@]}" "${cli[@]}" bench --out "/tmp/bench-$name" "$@" > "/tmp/bench-$name.log" 2>&1
  say "== bench $name: exit $? in $((SECONDS - t)) s"
  if [ -f "/tmp/bench-$name/bench.md" ]; then
    case $name in wide2-1|narrow2-1|wide16) cp "/tmp/bench-$name/bench.md" "$out/$name.md" ;; esac
    grep -E "^- (Machine|Read)|^\| (weighted_mean|trimmed_mean|median|weighted_median|fused_trimmed_mean_reptile) \| (cpu|numpy)" "/tmp/bench-$name/bench.md" | tee -a "$summary"
  else
    tail -20 "/tmp/bench-$name.log" | tee -a "$summary"
  fi
}
for ((i = 1; i <= ${CPU512_RUNS:-3}; i++)); do
  if [ "$i" = 1 ]; then peers=cpu,numpy; else peers=cpu; fi
  bench "wide2-$i" "${two[@]}" -- --backends "$peers" --workloads trimmed_mean,fused_trimmed_mean_reptile,weighted_mean,median,weighted_median
  bench "narrow2-$i" "${off[@]}" "${two[@]}" -- --backends cpu --workloads trimmed_mean,fused_trimmed_mean_reptile,weighted_mean
done
bench wide16 -- --backends cpu --workloads trimmed_mean,fused_trimmed_mean_reptile
bench narrow16 "${off[@]}" -- --backends cpu --workloads trimmed_mean,fused_trimmed_mean_reptile
ls -la "$out"
