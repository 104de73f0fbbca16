#!/usr/bin/env bash
# The companion's two entry points (see README):
#   ./run_all.sh [--scale NAME] [-p KEY VALUE ...]  every numbered notebook, in order, with papermill
#                                                   (default scale: cpu) -> build/<scale>/, figures/, results/<scale>/
#                                                   (and, at cpu, the executed copies in docs/notebooks/)
#   ./run_all.sh test [PYTEST ARGS ...]             unit tests + every notebook at scale smoke
#   ./run_all.sh student                            the student edition: notebooks without their solution cells
#                                                   -> build/student/
# Both first make (or reuse) .venv/ when the current Python lacks the project, and install it there.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

have_project() {  # the given Python imports this checkout's undo_lib and the notebook/test tools
  "$1" - "$ROOT" <<'PY' 2>/dev/null
import sys, pathlib, undo_lib, papermill, nbval, seaborn, xdist
sys.exit(0 if undo_lib.REPO_ROOT == pathlib.Path(sys.argv[1]).resolve() else 1)
PY
}

ensure_env() {
  local pins=(-c constraints.txt)
  [ "${UNDO_UNPINNED:-0}" = 1 ] && pins=()
  stamp=".venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)${UNDO_UNPINNED:+-unpinned}"
  if [ ! -e "$stamp" ] && have_project python3; then PY=python3; return; fi
  [ -x .venv/bin/python ] || python3 -m venv .venv
  PY=.venv/bin/python
  if [ -e "$stamp" ] && have_project "$PY"; then return; fi
  echo "== installing the project into .venv (once) =="
  local torch_req=()  # a torch already there is kept; else, without a GPU, the CPU wheel of 2.13.0
  if ! "$PY" -c "import torch" 2>/dev/null; then
    torch_req=("torch==2.13.0"); command -v nvidia-smi >/dev/null 2>&1 && torch_req=(torch)
  fi
  # uv installs the project in about 70 s on 2 cores, pip in about 170 s. Both byte-compile: with
  # PYTHONDONTWRITEBYTECODE=1, as on this machine and CI's, a process would otherwise compile every module it
  # imports, every time (tests 888 s against 542 s). uv reads no pip configuration, so pip's indexes, find-links
  # and constraints (where a machine may keep its CPU torch wheel) are handed on, every index weighed as pip weighs
  # them (unsafe-best-match: the highest matching version wins, so torch 2.13.0+cpu over PyPI's 2.13.0). Where uv
  # cannot be had or fails, pip installs.
  local pip_conf=()
  while IFS= read -r -d '' arg; do pip_conf+=("$arg"); done < <("$PY" - <<'PY' || true
import ast, subprocess, sys
out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
conf = {}  # name -> (scope rank, value): the environment's value over the files'
for line in out.splitlines():
    key, _, value = line.partition("=")
    scope, _, name = key.rpartition(".")
    rank = int(scope == ":env:")
    try:
        value = str(ast.literal_eval(value))
    except (ValueError, SyntaxError):
        continue
    if name not in conf or rank >= conf[name][0]:
        conf[name] = (rank, value)
flags = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
         "constraint": "--constraint"}
args = [a for name, flag in flags.items() for v in conf.get(name, (0, ""))[1].split() for a in (flag, v)]
if conf.get("no-index", (0, "0"))[1].lower() in ("1", "true", "yes", "on"):
    args.append("--no-index")
sys.stdout.write("".join(a + "\0" for a in args))
PY
)
  if ! { "$PY" -m pip install -q uv ${pins[@]+"${pins[@]}"} &&
         "$PY" -m uv pip install -q --python "$PY" --compile-bytecode --index-strategy unsafe-best-match \
           ${pip_conf[@]+"${pip_conf[@]}"} ${torch_req[@]+"${torch_req[@]}"} -e ".[notebooks,tests]" \
           ${pins[@]+"${pins[@]}"}; }; then
    "$PY" -m pip install -q --upgrade pip
    if [ ${#torch_req[@]} -gt 0 ]; then "$PY" -m pip install -q "${torch_req[@]}" || "$PY" -m pip install -q torch; fi
    "$PY" -m pip install -q -e ".[notebooks,tests]" ${pins[@]+"${pins[@]}"}
  fi
  rm -f .venv/.installed-*; touch "$stamp"
}

usage() {
  cat <<'USAGE'
usage: ./run_all.sh [--scale NAME] [-p KEY VALUE ...]   every notebook in order (default scale: cpu)
       ./run_all.sh test [PYTEST ARGS ...]              unit tests + every notebook at scale smoke
       ./run_all.sh student                             the student edition (solution cells removed)
       ./run_all.sh --help

  --scale NAME   smoke | cpu | gpu | paper
  --seeds LIST   run every notebook once per seed, e.g. --seeds "0 1 2" (the paper's claims over seeds; default 0)
  -p KEY VALUE   a notebook parameter: seed, setting, rmu_retain, results_dir, figures_dir (not scale: use --scale)
  test ARGS      pytest arguments; test paths given there replace the default one (tests/, whose browser test runs
                 every notebook; with UNDO_SKIP_BROWSER=1, nbval runs them)
USAGE
}

fail_usage() { echo "run_all.sh: $1" >&2; usage >&2; exit 2; }

NOTEBOOK_PARAMS=" seed setting rmu_retain results_dir figures_dir "

scale=cpu params=() results_dir="" seeds=""
parse_notebook_args() {  # before any set-up: a bad argument fails at once, with the usage
  while [ $# -gt 0 ]; do
    case "$1" in
      -h|--help) usage; exit 0 ;;
      --scale) [ $# -ge 2 ] || fail_usage "--scale needs a value"; scale="$2"; shift 2 ;;
      --seeds) [ $# -ge 2 ] || fail_usage "--seeds needs a list, e.g. --seeds \"0 1 2\""
               for s in $2; do case "$s" in *[!0-9]*) fail_usage "--seeds takes non-negative integers, got '$s'" ;; esac; done
               seeds="$2"; shift 2 ;;
      -p) [ $# -ge 3 ] || fail_usage "-p needs a KEY and a VALUE"
          [ "$2" != scale ] || fail_usage "set the scale with --scale, not -p scale"
          case "$NOTEBOOK_PARAMS" in *" $2 "*) ;; *) fail_usage "unknown notebook parameter '$2'" ;; esac
          [ "$2" != results_dir ] || results_dir="$3"
          params+=(-p "$2" "$3"); shift 3 ;;
      *) fail_usage "unknown argument: $1" ;;
    esac
  done
  case "$scale" in smoke|cpu|gpu|paper) ;; *) fail_usage "--scale must be smoke, cpu, gpu or paper, got '$scale'" ;; esac
  case " ${params[*]-} " in *" -p seed "*) [ -z "$seeds" ] || fail_usage "give the seed with -p seed or --seeds, not both" ;; esac
}

run_notebooks() {  # with the arguments parse_notebook_args read
  mkdir -p "build/$scale"
  local start=$SECONDS
  local runs=("")  # one run with the notebooks' own seed, or one per seed of --seeds
  [ -z "$seeds" ] || read -r -a runs <<< "$seeds"
  for seed in "${runs[@]}"; do
    local seed_params=() tag=""
    [ -n "$seed" ] && seed_params=(-p seed "$seed") && tag="-seed$seed"
    for nb in notebooks/[0-9][0-9]_*.ipynb; do
      echo "== $nb (scale $scale${seed:+, seed $seed}) =="
      local nb_start=$SECONDS
      "$PY" -m papermill "$nb" "build/$scale/$(basename "$nb" .ipynb)$tag.ipynb" -k python3 --cwd notebooks --log-output \
        -p scale "$scale" ${params[@]+"${params[@]}"} ${seed_params[@]+"${seed_params[@]}"}
      echo "== $nb${seed:+ seed $seed} done in $((SECONDS - nb_start)) s =="
    done
  done
  "$PY" -m undo_lib.verdicts "$scale" ${results_dir:+"$results_dir"}
  if [ "$scale" = cpu ] && [ ${#params[@]} -eq 0 ]; then  # the default run (seed 0 among its seeds): the executed
    case " ${seeds:-0} " in *" 0 "*)                      # copies that readers open on GitHub, docs/notebooks/
      "$PY" -m undo_lib.editions --published "build/$scale" docs/notebooks ;; esac
  fi
  echo "== all notebooks at scale $scale in $((SECONDS - start)) s; results in ${results_dir:-results/$scale} =="
}

run_tests() {
  local prepared=build/smoke/nbval paths=() args=()
  for arg in "$@"; do  # test paths (existing files or folders, or prepared notebooks) replace the default ones
    local path=${arg#"$ROOT"/}; path=${path#./}
    if [ "${arg#-}" = "$arg" ] && { [ -e "${path%%::*}" ] || [ "$path" = "$prepared" ] \
                                     || [ "${path#"$prepared"/}" != "$path" ]; }; then
      paths+=("$path"); else args+=("$arg"); fi
  done
  rm -rf "$prepared" build/smoke/store && mkdir -p "$prepared"
  # By default tests/, whose browser test runs every notebook at smoke through JupyterLab from the empty smoke store;
  # with UNDO_SKIP_BROWSER=1 (no browser) nbval runs the notebooks instead.
  if [ ${#paths[@]} -eq 0 ]; then
    paths=(tests)
    if [ "${UNDO_SKIP_BROWSER:-0}" = 1 ]; then paths=("$prepared" tests); fi
  fi
  case " ${paths[*]}" in *" $prepared"*)
    for nb in notebooks/[0-9][0-9]_*.ipynb; do  # inject the smoke parameters, execute nothing
      "$PY" -m papermill --prepare-only "$nb" "$prepared/$(basename "$nb")" -k python3 -p scale smoke \
        >"$prepared/prepare.log" 2>&1 || { cat "$prepared/prepare.log" >&2; echo "cannot prepare $nb" >&2; exit 1; }
    done ;;
  esac
  # One pytest-xdist worker per core, a test file each at a time, one thread each (two threads per worker on
  # two cores make tiny models' steps spin-wait); `-n 0` among the arguments runs them in this process.
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} UNDO_STORE="$ROOT/build/smoke/store" "$PY" -m pytest "${paths[@]}" \
    -n auto --dist loadfile --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider \
    --durations=15 ${args[@]+"${args[@]}"}
}

make_student_edition() {  # each run of cells tagged "solution" becomes one empty "answer" cell; plus an answer key
  "$PY" -m undo_lib.editions notebooks build/student
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  test) ;;
  student) [ $# -eq 1 ] || fail_usage "student takes no arguments" ;;
  *) parse_notebook_args "$@" ;;
esac
ensure_env
case "${1:-}" in
  test) shift; run_tests "$@" ;;
  student) make_student_edition ;;
  *) run_notebooks ;;
esac
