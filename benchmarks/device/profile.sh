#!/usr/bin/env bash
# Nsight Compute's view of one dense kernel on a lent GPU machine: where its time goes (speed of light, occupancy,
# warp stall reasons, memory traffic, instruction mix), for deciding what to change next. One `meta-gpu bench` call
# of PROFILE_WORKLOAD (default trimmed_mean) at PROFILE_N x PROFILE_D (default 256 x 4,194,304, the issue's size) on
# cuda, with the kernels whose PTX entry matches PROFILE_KERNEL (ILGPU names an entry Kernel_<method>; default
# Kernel_Run: TrimmedMeanNetworkKernel.Run) profiled PROFILE_COUNT times (default 1) after skipping PROFILE_SKIP
# matches (default 7: the device bandwidth probe's read-stream passes, ReadStreamKernel.Run, come first: a warm-up,
# five timed and the copy check; a twelfth-session run skipping none, and a thirteenth-session one skipping 6,
# profiled the probe). PROFILE_ARGS adds bench arguments: with
# PROFILE_ARGS=--outlier-filter PROFILE_KERNEL=Kernel_Medians PROFILE_SKIP=0 it profiles the outlier pass's column
# medians (SortedRunsMedianKernel.Medians at 256 rows), the default configuration's largest cost at 256 domains. ncu needs a runtime that lets it read the counters:
# the nvidia-h100-x1 kind had one in an earlier session, and so did the nvidia-h200 of the twelfth.
# Pack first, here: benchmarks/device/pack.sh; then on the device machine, from the project root, with .device
# carried: bash benchmarks/device/profile.sh (after gpu-checks.sh too: the pack is unpacked once). Results: $OUT/profile.txt.
set -uo pipefail
source "$(dirname "$0")/device-env.sh"
ncu=$(command -v ncu || ls /usr/local/cuda*/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
if [ -z "$ncu" ]; then echo "no ncu on this machine" | tee "$out/profile.txt"; exit 0; fi
"$ncu" --version | tail -1 | tee "$out/profile.txt"
timeout "${PROFILE_TIMEOUT:-150}" "$ncu" --clock-control none --kernel-name "${PROFILE_KERNEL:-Kernel_Run}" \
  --launch-skip "${PROFILE_SKIP:-7}" --launch-count "${PROFILE_COUNT:-1}" \
  --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats --section SchedulerStats \
  --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis --section InstructionStats \
  dotnet /tmp/apps/Meta.Gpu.Cli/meta-gpu.dll bench --out /tmp/bench-profile --backends cuda \
  --workloads "${PROFILE_WORKLOAD:-trimmed_mean}" --n "${PROFILE_N:-256}" --d "${PROFILE_D:-4194304}" \
  --repeats 1 --warmup 0 --device-bandwidth-mb 64 ${PROFILE_ARGS:-} >> "$out/profile.txt" 2>&1
echo "ncu exit $?" | tee -a "$out/profile.txt"
grep -E "Kernel_.* \(|Duration|Compute \(SM\) Throughput|Memory Throughput|DRAM Throughput|Achieved Occupancy|Theoretical Occupancy|Registers Per|Block Limit|Executed Ipc|Issue Slots Busy|No Eligible|Eligible Warps|Stall|L2 Hit|L1/TEX Hit|Warp Cycles Per Issued" "$out/profile.txt" | head -60
grep -E "^    (OPT|WRN|INF)" -A3 "$out/profile.txt" | head -60
