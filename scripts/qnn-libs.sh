#!/usr/bin/env bash
# Makes Qualcomm's QNN libraries available for edgehal-qnn's tests, outside the repository: downloads
# the onnxruntime-qnn 2.3.0 wheel (x86-64 Linux; libQnnCpu.so, libQnnHtp.so = the HTP simulator,
# libQnnSystem.so, ...) into a cache directory, unpacks it, and prints the library directory as the
# last line on stdout (use it as EDGEHAL_QNN_LIB_DIR). Progress goes to stderr.
#   EDGEHAL_QNN_CACHE   cache directory (default ~/.cache/edgehal/qnn)
set -euo pipefail
cache="${EDGEHAL_QNN_CACHE:-$HOME/.cache/edgehal/qnn}"
libdir="$cache/onnxruntime_qnn"
if [ ! -f "$libdir/libQnnCpu.so" ]; then
  mkdir -p "$cache/wheel"
  echo "qnn-libs: downloading onnxruntime-qnn==2.3.0 into $cache/wheel" >&2
  python3 -m pip download --no-deps --only-binary=:all: --platform manylinux_2_35_x86_64 \
    --python-version 3.11 onnxruntime-qnn==2.3.0 -d "$cache/wheel" >&2
  wheel=$(ls "$cache"/wheel/onnxruntime_qnn-2.3.0-*.whl | head -n 1)
  echo "qnn-libs: unpacking $wheel into $cache" >&2
  python3 -m zipfile -e "$wheel" "$cache" >&2
fi
for lib in libQnnCpu.so libQnnHtp.so libQnnSystem.so; do
  if [ ! -f "$libdir/$lib" ]; then
    echo "qnn-libs: $libdir/$lib is missing after unpacking" >&2
    exit 1
  fi
done
echo "qnn-libs: libraries in $libdir" >&2
echo "$libdir"
