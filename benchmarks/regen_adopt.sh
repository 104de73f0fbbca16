#!/usr/bin/env bash
# Adopts a regeneration's results (benchmarks/regen.sh) as the committed ones, in one step:
#
#   benchmarks/regen_adopt.sh [NAME]      NAME: the regeneration (default cpu-v3, i.e. results/reruns/cpu-v3)
#
# Its tables replace those of results/cpu (the claims of notebooks it did not run are kept: undo_lib.results.
# adopt_rerun), every figure is redrawn from the tables and the stale ones deleted, the README's verdicts and
# generated tables are rewritten, seed 0's executed notebooks are published to docs/notebooks/, and the
# regeneration's time is printed. Nothing is committed: read `git diff` first, then write the README's prose.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=${1:-cpu-v3} TREE=${REGEN_TREE:-/work/runv3}
PY="$ROOT/.venv/bin/python"
cd "$ROOT"
"$PY" - "results/reruns/$NAME" results/cpu <<'PYEOF'
import sys
from undo_lib.results import adopt_rerun
replaced, kept = adopt_rerun(*sys.argv[1:])
print(f"adopted from {sys.argv[1]}: {', '.join(replaced)}")
print(f"kept in {sys.argv[2]} (not rerun): {', '.join(kept) or 'none'}")
PYEOF
"$PY" -m undo_lib.redraw results/cpu figures --prune
"$PY" -m undo_lib.verdicts cpu | tail -n 2
"$PY" -m undo_lib.report
if compgen -G "$TREE/build/$NAME/[0-9][0-9]_*-seed0.ipynb" > /dev/null; then
  "$PY" -m undo_lib.editions --published "$TREE/build/$NAME" docs/notebooks \
    "From the regeneration results/reruns/$NAME (benchmarks/regen.sh; its times.csv gives each run's commit and time)."
fi
"$PY" benchmarks/regen_time.py "results/reruns/$NAME"
