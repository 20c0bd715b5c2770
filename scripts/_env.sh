# Shared by scripts/*: the project's virtualenvs and the llama.cpp build flags that work on CPUs whose AMX
# instructions the VM refuses (a native build crashes there).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
VENV="${OVERSIGHT_VENV:-$ROOT/.venv}"
VLLM_VENV="${OVERSIGHT_VLLM_VENV:-$ROOT/.venv-vllm}"
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# make_venv DIR EXTRAS: create DIR if needed and install this project (editable) with EXTRAS into it.
make_venv() {
  local dir="$1" extras="$2"
  [ -x "$dir/bin/python" ] || "$PY" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --upgrade pip
  "$dir/bin/python" -m pip install -q -e "$ROOT[$extras]"
}
