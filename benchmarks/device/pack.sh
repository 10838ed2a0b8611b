#!/usr/bin/env bash
# Packs what the GPU checks run into .device/ (ignored by git), as ../shared/tools/device-pack.sh does, but for
# linux-x64 only: a portable publish of the CLI carries every platform's natives (torch_cpu.dll alone is 265 MB,
# SkiaSharp's for a dozen platforms), far over the 64 MiB a device call may carry. libtorch's native files are
# left out as there (the GPU machine runs no TorchSharp); the .NET runtime tarball is reused when present.
# Usage, from the project root: benchmarks/device/pack.sh   then see benchmarks/device/gpu-checks.sh
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
mkdir -p .device
rm -rf .device/apps .device/apps.tar.xz
if [ ! -s .device/runtime.tar.xz ]; then
  dn=$(dirname "$(readlink -f "$(command -v dotnet)")")
  rt=$(ls -d "$dn"/shared/Microsoft.NETCore.App/* | sort -V | tail -1)
  tar -C "$dn" -cf - dotnet host "shared/Microsoft.NETCore.App/$(basename "$rt")" | xz -T0 -6 > .device/runtime.tar.xz
fi
for p in src/Meta.Gpu.Cli tests/Meta.Gpu.Kernels.Tests; do
  name=$(basename "$p")
  log=$(mktemp)
  dotnet publish "$p" -c Release -r linux-x64 --no-self-contained -o ".device/apps/$name" -p:UseAppHost=false >"$log" 2>&1 \
    || { echo "publish of $p failed:"; tail -20 "$log"; exit 1; }
  find ".device/apps/$name" \( -name 'libtorch*' -o -name 'libc10*' -o -name 'libLibTorchSharp*' -o -name 'libgomp*' \
    -o -name 'libtorchsharp_compat*' -o -name 'libshm*' -o -name 'libbackend_with_compiler*' -o -name 'libjitbackend*' \
    -o -name 'libnnapi*' -o -name 'libaoti*' \) -delete
done
tar -C .device -cf - apps | xz -T0 -6 > .device/apps.tar.xz && rm -rf .device/apps
cat > .device/unpack.sh <<'UNPACK'
mkdir -p /tmp/dn /tmp/apps-root && tar -xJf .device/runtime.tar.xz -C /tmp/dn && tar -xJf .device/apps.tar.xz -C /tmp/apps-root && ln -sfn /tmp/apps-root/apps /tmp/apps
UNPACK
du -sh .device
size=$(du -sm .device | cut -f1); [ "$size" -lt 64 ] || { echo "error: .device is ${size} MB; the carry limit is 64 MiB"; exit 1; }
