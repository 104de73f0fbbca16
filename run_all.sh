#!/usr/bin/env bash
# The companion's two entry points (see README):
#   ./run_all.sh [--scale NAME] [-p KEY VALUE ...]  every numbered notebook, in order, with papermill
#                                                   (default scale: cpu) -> build/<scale>/, figures/, results/<scale>/
#   ./run_all.sh test [PYTEST ARGS ...]             unit tests + nbval of every notebook at scale smoke
#   ./run_all.sh student                            the student edition: notebooks without their solution cells
#                                                   -> build/student/
# Both first make (or reuse) .venv/ when the current Python lacks the project, and install it there.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

have_project() {  # the given Python imports this checkout's undo_lib and the notebook/test tools
  "$1" - "$ROOT" <<'PY' 2>/dev/null
import sys, pathlib, undo_lib, papermill, nbval, seaborn
sys.exit(0 if undo_lib.REPO_ROOT == pathlib.Path(sys.argv[1]).resolve() else 1)
PY
}

ensure_env() {
  stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -e "$stamp" ] && have_project python3; then PY=python3; return; fi
  [ -x .venv/bin/python ] || python3 -m venv .venv
  PY=.venv/bin/python
  if [ -e "$stamp" ] && have_project "$PY"; then return; fi
  echo "== installing the project into .venv (once) =="
  "$PY" -m pip install -q --upgrade pip
  if ! "$PY" -c "import torch" 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1; then "$PY" -m pip install -q torch
    else "$PY" -m pip install -q "torch==2.13.0" || "$PY" -m pip install -q torch; fi  # CPU machine: the CPU wheel
  fi
  "$PY" -m pip install -q -e ".[notebooks,tests]"
  rm -f .venv/.installed-*; touch "$stamp"
}

run_notebooks() {
  local scale=cpu params=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --scale) scale="$2"; shift 2 ;;
      -p) params+=(-p "$2" "$3"); shift 3 ;;
      *) echo "unknown argument: $1 (expected --scale NAME or -p KEY VALUE)" >&2; exit 2 ;;
    esac
  done
  case "$scale" in smoke|cpu|gpu|paper) ;; *) echo "--scale must be smoke, cpu, gpu or paper, got '$scale'" >&2; exit 2 ;; esac
  mkdir -p "build/$scale"
  local start=$SECONDS
  for nb in notebooks/[0-9][0-9]_*.ipynb; do
    echo "== $nb (scale $scale) =="
    local nb_start=$SECONDS
    "$PY" -m papermill "$nb" "build/$scale/$(basename "$nb")" -k python3 --cwd notebooks --log-output -p scale "$scale" "${params[@]}"
    echo "== $nb done in $((SECONDS - nb_start)) s =="
  done
  "$PY" -m undo_lib.claims "$scale"
  echo "== all notebooks at scale $scale in $((SECONDS - start)) s; figures in figures/, results in results/$scale/ =="
}

run_tests() {
  local prepared=build/smoke/nbval
  rm -rf "$prepared" build/smoke/store && mkdir -p "$prepared"
  for nb in notebooks/[0-9][0-9]_*.ipynb; do  # inject the smoke parameters, execute nothing
    "$PY" -m papermill --prepare-only "$nb" "$prepared/$(basename "$nb")" -k python3 -p scale smoke >/dev/null 2>&1
  done
  UNDO_STORE="$ROOT/build/smoke/store" "$PY" -m pytest tests "$prepared" --nbval-lax \
    --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider "$@"
}

make_student_edition() {  # exercises stay, cells tagged "solution" go (nbstripout drops them, outputs too)
  mkdir -p build/student
  for nb in notebooks/[0-9][0-9]_*.ipynb; do
    "$PY" -m nbstripout --drop-tagged-cells solution -t "$nb" > "build/student/$(basename "$nb")"
  done
  echo "== student edition in build/student/ =="
}

ensure_env
case "${1:-}" in
  test) shift; run_tests "$@" ;;
  student) make_student_edition ;;
  *) run_notebooks "$@" ;;
esac
