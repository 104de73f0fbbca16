"""The instructor's editions of the notebooks: a student edition and an answer key.

In the source notebooks every exercise is a markdown cell starting "**Exercise", followed by its solution: cells
tagged "solution" (the code, and a markdown discussion of what its numbers mean). The student edition replaces each
run of solution cells by one empty code cell tagged "answer"; the answer key gathers every exercise with its
solution cells, notebook by notebook. Outputs are dropped from both.

The published edition is an executed notebook for reading without a run (docs/notebooks/): its outputs kept, the
progress bars dropped (stderr streams and widgets), and a first cell saying how and when it was executed.

    python -m undo_lib.editions notebooks build/student             (what `./run_all.sh student` runs)
    python -m undo_lib.editions --published build/cpu docs/notebooks  (what `./run_all.sh` runs at scale cpu)
"""
import copy
import sys
from pathlib import Path

import nbformat

SOLUTION, ANSWER = "solution", "answer"
ANSWER_PROMPT = "# Your answer here: code, then a markdown cell saying what the numbers mean."


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def _clean(cell):
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def student_edition(nb):
    """A copy of notebook `nb` whose runs of solution cells are each one empty code cell tagged "answer"."""
    out, cells = copy.deepcopy(nb), []
    for cell in nb.cells:
        if SOLUTION not in _tags(cell):
            cells.append(_clean(cell))
        elif not cells or ANSWER not in _tags(cells[-1]):
            cells.append(nbformat.v4.new_code_cell(ANSWER_PROMPT, metadata={"tags": [ANSWER]}))
    out.cells = cells
    return out


def exercises(nb) -> list[tuple]:
    """[(exercise markdown cell, [its solution cells])] of a notebook, in order."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "**Exercise" in cell.source:
            found.append((cell, []))
        elif SOLUTION in _tags(cell):
            if not found:
                raise ValueError("a solution cell comes before any exercise")
            found[-1][1].append(cell)
    return found


def answer_key(notebooks: dict):
    """One notebook with every exercise of {title: notebook} and its solution cells, under a heading per notebook.
    Raises ValueError where an exercise has no solution."""
    key = nbformat.v4.new_notebook()
    key.cells.append(nbformat.v4.new_markdown_cell(
        "# Answer key\nEvery exercise of the notebooks with its solution and a discussion of what the numbers mean. "
        "Run each solution in its notebook, after the cells above the exercise."))
    for title, nb in notebooks.items():
        key.cells.append(nbformat.v4.new_markdown_cell(f"## {title}"))
        for exercise, solution in exercises(nb):
            if not solution:
                raise ValueError(f"{title}: an exercise has no solution cell: {exercise.source[:60]!r}")
            key.cells += [_clean(exercise)] + [_clean(c) for c in solution]
    return key


def build(source_dir, out_dir) -> list[Path]:
    """Write the student edition of every numbered notebook of `source_dir`, and answer_key.ipynb, to `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = sorted(Path(source_dir).glob("[0-9][0-9]_*.ipynb"))
    if not sources:
        raise ValueError(f"no numbered notebooks in {source_dir}")
    books, written = {}, []
    for path in sources:
        nb = nbformat.read(path, as_version=4)
        books[path.stem] = nb
        nbformat.write(student_edition(nb), out_dir / path.name)
        written.append(out_dir / path.name)
    nbformat.write(answer_key(books), out_dir / "answer_key.ipynb")
    return written + [out_dir / "answer_key.ipynb"]


def _progress(output) -> bool:
    """Whether an output is a progress bar: a stderr stream, or a widget (tqdm in a notebook)."""
    if output.get("output_type") == "stream":
        return output.get("name") == "stderr"
    return "application/vnd.jupyter.widget-view+json" in output.get("data", {})


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def published_edition(nb, source: str, remark: str = ""):
    """A copy of the executed notebook `nb` with its progress bars dropped and a first cell naming `source` and
    the run (papermill's parameters, start time and duration), then `remark`. Raises ValueError for a notebook
    never executed."""
    run = nb.get("metadata", {}).get("papermill", {})
    if not run.get("end_time"):
        raise ValueError(f"{source}: not an executed notebook (no papermill end time)")
    failed = [c for c in nb.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    if failed:
        raise ValueError(f"{source}: a cell ended in an error: {failed[0].source[:60]!r}")
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not _progress(o)]
    out.metadata.pop("widgets", None)  # the widgets' state, useless without them (and GitHub's renderer trips on it)
    params = ", ".join(f"{k}={v!r}" for k, v in run.get("parameters", {}).items())
    note = (f"*Executed copy, for reading without a run: `{source}` with {params}, started "
            f"{run.get('start_time', '?')[:16].replace('T', ' ')} UTC, {_duration(run.get('duration', 0))} on "
            f"2 CPU cores (stages already in the store are read back, not retrained). {remark + ' ' if remark else ''}"
            f"Progress bars are dropped. Rerun it with `./run_all.sh`; the source notebook has no outputs.*")
    out.cells.insert(0, nbformat.v4.new_markdown_cell(note, metadata={"tags": ["published"]}))
    return out


def publish(executed_dir, out_dir, seed: int = 0, remark: str = "") -> list[Path]:
    """Write the published edition of every executed notebook of `executed_dir` to `out_dir` as NN_name.ipynb:
    the copies NN_name-seed{seed}.ipynb of `./run_all.sh --seeds` where there are any, else NN_name.ipynb."""
    out_dir, written = Path(out_dir), []
    found = sorted(Path(executed_dir).glob(f"[0-9][0-9]_*-seed{seed}.ipynb"))
    found = found or [p for p in sorted(Path(executed_dir).glob("[0-9][0-9]_*.ipynb")) if "-seed" not in p.stem]
    for path in found:
        name = path.stem.removesuffix(f"-seed{seed}")
        nb = nbformat.read(path, as_version=4)
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(published_edition(nb, f"notebooks/{name}.ipynb", remark), out_dir / f"{name}.ipynb")
        written.append(out_dir / f"{name}.ipynb")
    if not written:
        raise ValueError(f"no executed numbered notebooks in {executed_dir}")
    return written


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) in (3, 4) and args[0] == "--published":
        written = publish(args[1], args[2], remark=args[3] if len(args) == 4 else "")
        print(f"published edition: {', '.join(str(p) for p in written)}")
    elif len(args) == 2:
        paths = build(args[0], args[1])
        print(f"student edition and answer key: {', '.join(str(p) for p in paths)}")
    else:
        sys.exit("usage: python -m undo_lib.editions <notebooks dir> <output dir>\n"
                 "       python -m undo_lib.editions --published <executed notebooks dir> <output dir> [remark]")
