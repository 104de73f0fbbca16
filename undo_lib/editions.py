"""The instructor's editions of the notebooks: a student edition and an answer key.

In the source notebooks every exercise is a markdown cell starting "**Exercise", followed by its solution: cells
tagged "solution" (the code, and a markdown discussion of what its numbers mean). The student edition replaces each
run of solution cells by one empty code cell tagged "answer"; the answer key gathers every exercise with its
solution cells, notebook by notebook. Outputs are dropped from both.

    python -m undo_lib.editions notebooks build/student   (what `./run_all.sh student` runs)
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


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m undo_lib.editions <notebooks dir> <output dir>")
    paths = build(sys.argv[1], sys.argv[2])
    print(f"student edition and answer key: {', '.join(str(p) for p in paths)}")
