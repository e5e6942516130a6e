#!/usr/bin/env bash
# Install llama-cpp-python[server] (the llama.cpp backend and server of the tests) into a venv,
# from a wheel cache: the first run compiles llama.cpp (minutes), later runs reuse the wheel.
#
#   tools/build_llamacpp.sh [PYTHON]      (default .venv/bin/python)
#
# The build skips what llmlab does not use (multimodal, tools, examples, tests, curl) and is
# not tuned to this CPU (GGML_NATIVE=OFF), so the cached wheel runs on any x86-64 machine.
# The cache is $LLMLAB_WHEELHOUSE (default ~/.cache/llmlab/wheels).
set -euo pipefail
PY="${1:-.venv/bin/python}"
VERSION=0.3.36
CACHE="${LLMLAB_WHEELHOUSE:-$HOME/.cache/llmlab/wheels}"
mkdir -p "$CACHE"
if ! ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $VERSION (compiles llama.cpp; cached in $CACHE)"
    start=$(date +%s)
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF \
-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF \
-DLLAMA_LLGUIDANCE=OFF" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
        "$PY" -m pip wheel --quiet --no-deps -w "$CACHE" "llama-cpp-python==$VERSION"
    echo "llama-cpp-python cold build: $(( $(date +%s) - start )) s"
fi
"$PY" -m pip install --quiet --find-links "$CACHE" "llama-cpp-python[server]==$VERSION"
