# Sourced by the device scripts (gpu-checks.sh, cpu512-checks.sh, profile.sh): the results folder ($OUT, or
# out/device off the device machine), the packed runtime and apps unpacked into /tmp/dn and /tmp/apps (again only
# when the carried pack differs from the one unpacked there: a warm machine keeps /tmp between calls, and a newer
# pack must not run the older build), the environment they run in, and `say` (echo to the output and to $summary).
out=${OUT:-out/device}
mkdir -p "$out"
packed=$(md5sum .device/apps.tar.xz .device/runtime.tar.xz 2>/dev/null | md5sum | cut -d' ' -f1)
if [ ! -d /tmp/apps ] || [ "$(cat /tmp/apps-root/.packed 2>/dev/null)" != "$packed" ]; then
  rm -rf /tmp/dn /tmp/apps-root /tmp/apps
  bash .device/unpack.sh || { echo "unpack failed"; exit 1; }
  echo "$packed" > /tmp/apps-root/.packed
fi
export PATH=/tmp/dn:$PATH:/usr/local/cuda/bin DOTNET_ROOT=/tmp/dn DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
  DOTNET_CLI_TELEMETRY_OPTOUT=1 PYTHONUNBUFFERED=1
summary="$out/summary.log"
say() { echo "$@" | tee -a "$summary"; }
