#!/usr/bin/env bash
# Regenerates the `cpu` results from an empty store, one (seed, notebook) at a time, at a fixed commit, beside the
# working copy (which may change meanwhile), and logs each notebook's wall time. Progress is copied into the working
# copy after every notebook, so that it can be committed as it comes (results/reruns/<name>/).
#
#   benchmarks/regen.sh COMMIT "SEEDS" NOTEBOOK[:SETTING]...   e.g. benchmarks/regen.sh 2638a96 "0 1 2" 01_oracle_matching
#
# NOTEBOOK:SETTING runs one setting only (-p setting SETTING), so that a notebook longer than a session lands in
# parts; times.csv names it so. A fresh worktree starts from the tables already copied to results/reruns/<name>/
# (each notebook replaces only its own scale, setting and seed rows), so a regeneration resumes on a new machine.
#
# Layout (override with the variables in brackets):
#   [REGEN_TREE]   /work/runv3        a detached worktree at COMMIT, whose undo_lib the kernels import
#   [REGEN_STORE]  /work/store_v3     the store (UNDO_STORE); empty at the start of a regeneration
#   [REGEN_NAME]   cpu-v3             results -> $REGEN_TREE/results_$REGEN_NAME, copied to results/reruns/$REGEN_NAME/
# times.csv there: commit, notebook, seed, start and end (UTC, ISO), seconds, exit status ("killed": a run that
# ended with its session, timed to its last heartbeat in running.csv, logged when the driver next starts). Pauses
# (a run stopped with SIGSTOP to time the tests alone) are logged by `benchmarks/regen.sh hold stop|cont WHY` in
# pauses.csv; benchmarks/regen_time.py subtracts them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TREE=${REGEN_TREE:-/work/runv3} STORE=${REGEN_STORE:-/work/store_v3} NAME=${REGEN_NAME:-cpu-v3}
OUT="$ROOT/results/reruns/$NAME"
mkdir -p "$OUT"

if [ "${1:-}" = hold ]; then  # hold stop|cont WHY: pause or resume every process of the running regeneration
  case "${2:-}" in stop|cont) ;; *) echo "usage: benchmarks/regen.sh hold stop|cont WHY" >&2; exit 2 ;; esac
  descendants() { local c; for c in $(pgrep -P "$1" || true); do echo "$c"; descendants "$c"; done; }
  sig=STOP; [ "$2" = cont ] && sig=CONT
  driver=$(cat "$TREE/regen.pid")
  for p in $(descendants "$driver"); do kill -"$sig" "$p" 2>/dev/null || true; done
  [ -e "$OUT/pauses.csv" ] || echo "time,action,why" > "$OUT/pauses.csv"
  echo "$(date -u +%FT%TZ),$2,\"${3:-}\"" >> "$OUT/pauses.csv"
  exit 0
fi

COMMIT=$1 SEEDS=$2; shift 2
if [ -e "$TREE/regen.pid" ] && kill -0 "$(cat "$TREE/regen.pid")" 2>/dev/null; then
  echo "regen: a run is under way in $TREE (pid $(cat "$TREE/regen.pid"))" >&2; exit 1
fi
git -C "$TREE" rev-parse --verify -q HEAD >/dev/null 2>&1 || git -C "$ROOT" worktree add --detach "$TREE" "$COMMIT"
git -C "$TREE" checkout -q --detach "$COMMIT"
[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] || { echo "regen: $TREE has changes" >&2; exit 1; }
PY="$ROOT/.venv/bin/python"
RES="$TREE/results_$NAME" FIG="$TREE/figures_$NAME" NB="$TREE/build/$NAME"
mkdir -p "$RES" "$FIG" "$NB"
for f in "$OUT"/*.csv; do  # the progress so far, where this worktree lacks it (a new machine)
  [ -e "$f" ] || continue  # a new regeneration: nothing yet
  case "$(basename "$f")" in times.csv|pauses.csv|running.csv) continue ;; esac
  [ -e "$RES/$(basename "$f")" ] || cp "$f" "$RES/"
done
[ -e "$OUT/times.csv" ] || echo "commit,notebook,seed,start,end,seconds,status" > "$OUT/times.csv"
sha=$(git -C "$TREE" rev-parse --short HEAD)
echo $$ > "$TREE/regen.pid"
running="$OUT/running.csv"  # the notebook under way and its last heartbeat (a minute apart)
if [ -e "$running" ]; then  # killed with its session: its time up to the last heartbeat, status "killed"
  IFS=, read -r r_sha r_nb r_seed r_start r_last < "$running"
  echo "$r_sha,$r_nb,$r_seed,$r_start,$r_last,$(( $(date -ud "$r_last" +%s) - $(date -ud "$r_start" +%s) )),killed" \
    >> "$OUT/times.csv"
  rm -f "$running"
fi
for seed in $SEEDS; do
  for spec in "$@"; do
    nb=${spec%%:*} set_args=() out="$nb-seed$seed"
    if [ "$spec" != "$nb" ]; then set_args=(-p setting "${spec#*:}"); out="$out-${spec#*:}"; fi
    start=$(date -u +%FT%TZ) t0=$SECONDS status=0
    (while :; do echo "$sha,$spec,$seed,$start,$(date -u +%FT%TZ)" > "$running.tmp"; mv "$running.tmp" "$running"
                 sleep 60; done) &
    beat=$!
    (cd "$TREE/notebooks" && UNDO_STORE="$STORE" PYTHONPATH="$TREE" "$PY" -m papermill "$nb.ipynb" \
       "$NB/$out.ipynb" -k python3 --log-output -p scale cpu -p seed "$seed" "${set_args[@]}" \
       -p results_dir "$RES" -p figures_dir "$FIG") > "$NB/$out.log" 2>&1 || status=$?
    kill "$beat"; wait "$beat" 2>/dev/null || true
    rm -f "$running"
    echo "$sha,$spec,$seed,$start,$(date -u +%FT%TZ),$((SECONDS - t0)),$status" >> "$OUT/times.csv"
    cp "$RES"/*.csv "$OUT"/ 2>/dev/null || true
  done
done
