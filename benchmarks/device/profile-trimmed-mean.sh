#!/usr/bin/env bash
# Nsight Compute report of the trimmed mean network kernel (TrimmedMeanNetworkKernel) in a fused round at N=256,
# D=1,048,576, on a GPU machine whose runtime lets ncu read the counters (the nvidia-h100-x1 kind: Firecracker;
# KINDS.md). Every ILGPU kernel is named Kernel_Run, so the launches are counted: the device bandwidth probe
# launches a few kernels first, and every launch after it is a fused round's network kernel (a read-once round launches
# nothing else). Pack first: benchmarks/device/pack.sh; run from the project root with .device carried.
set -uo pipefail
out=${OUT:-out/profile}
mkdir -p "$out"
bash .device/unpack.sh || exit 1
export PATH=/tmp/dn:$PATH:/usr/local/cuda/bin DOTNET_ROOT=/tmp/dn DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv
ncu --clock-control none -k regex:Kernel_Run --launch-skip 20 --launch-count 1 \
  --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats --section SchedulerStats \
  --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis --section InstructionStats \
  dotnet /tmp/apps/Meta.Gpu.Cli/meta-gpu.dll bench --backends cuda --workloads fused_trimmed_mean_reptile \
  --n 256 --d 1048576 --repeats 3 --device-bandwidth-mb 64 --out /tmp/profile-bench > "$out/ncu.txt" 2>&1
echo "ncu exit $?"
grep -E "Dynamic Shared|Registers Per|Achieved Occupancy|Theoretical Occupancy|Block Limit|Duration|Memory Throughput|DRAM Throughput|Compute \(SM\)|Executed Ipc|Issue Slots|No Eligible|Active Warps|Eligible Warps|Stall|Warp Cycles|L1/TEX Hit|L2 Hit|Mem Busy|Max Bandwidth|Issued Warp|One or More|Avg\. Executed" "$out/ncu.txt" | head -60
grep -E "^    (OPT|WRN|INF)" -A3 "$out/ncu.txt" | head -80
