#!/usr/bin/env bash
# Makes TorchSharp's native wrapper load on hosts whose libstdc++ predates GCC 13.
#
# libLibTorchSharp.so (TorchSharp 0.107.0) is built against GCC 13's libstdc++ and asks for version
# GLIBCXX_3.4.32, but uses exactly one symbol from it: std::ios_base_library_init(), which GCC 13 calls to set up
# the standard streams. Debian 12 ships GCC 12 (GLIBCXX_3.4.30), so the loader refuses the library. This script
# patches the COPY in a build output (never the NuGet cache):
#   1. builds libmetagpu_iosinit.so, which defines that one symbol (constructing a static std::ios_base::Init,
#      what the GCC 13 function does);
#   2. drops the version from the wrapper's reference to it and adds the shim as a DT_NEEDED entry (patchelf);
#   3. marks the GLIBCXX_3.4.32 requirement in .gnu.version_r weak (flag 0x2), so a missing version is no error.
# It is a no-op where the system libstdc++ already provides GLIBCXX_3.4.32, and idempotent.
#
# Usage: patch-libtorchsharp.sh DIR   (patches every libLibTorchSharp.so under DIR)
set -euo pipefail

dir=${1:?usage: patch-libtorchsharp.sh DIR}
[ "$(uname -s)" = Linux ] || exit 0
[ -d "$dir" ] || exit 0

mapfile -t libs < <(find "$dir" -name libLibTorchSharp.so -type f 2>/dev/null)
[ ${#libs[@]} -gt 0 ] || exit 0

# The libstdc++ the loader will pick.
stdcxx=$( (/sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null) | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
[ -n "$stdcxx" ] || stdcxx=$(ls /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /lib/x86_64-linux-gnu/libstdc++.so.6 2>/dev/null | head -1)
if [ -n "$stdcxx" ] && grep -q 'GLIBCXX_3\.4\.32' "$stdcxx"; then
  exit 0 # the system library has what the wrapper asks for
fi

shim=libmetagpu_iosinit.so
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3 || true)

# A missing tool is reported, not fatal: everything but `meta-gpu demo` and the TorchSharp tests works without
# libtorch, and those say clearly that TorchSharp's native library failed to load.
fail() { echo "patch-libtorchsharp: $* -- TorchSharp will not load from this build output"; exit 0; }
command -v patchelf >/dev/null || fail "patchelf is missing (apt-get install -y patchelf); TorchSharp cannot load on this libstdc++ without it"
command -v g++ >/dev/null || fail "g++ is missing; it builds the one-symbol shim TorchSharp needs on this libstdc++"
[ -n "$python" ] || fail "python3 is missing; it marks the GLIBCXX_3.4.32 requirement weak"

for lib in "${libs[@]}"; do
  libdir=$(dirname "$lib")
  if [ ! -f "$libdir/$shim" ]; then
    tmp=$(mktemp -d)
    g++ -shared -fPIC -O2 -o "$tmp/$shim" "$here/ios_base_library_init.cpp"
    mv "$tmp/$shim" "$libdir/$shim"
    rmdir "$tmp"
  fi
  if readelf -d "$lib" | grep -q "\[$shim\]"; then
    continue # already patched
  fi
  # Work on a private copy: the build may have hard-linked the output to the NuGet cache.
  work="$lib.patching"
  cp "$lib" "$work"
  patchelf --clear-symbol-version _ZSt21ios_base_library_initv "$work"
  patchelf --add-needed "$shim" "$work"
  "$python" "$here/weaken-version-need.py" "$work" GLIBCXX_3.4.32
  mv -f "$work" "$lib"
  echo "patch-libtorchsharp: patched $lib for $(basename "${stdcxx:-libstdc++}") without GLIBCXX_3.4.32"
done
