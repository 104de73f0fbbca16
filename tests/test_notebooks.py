"""The committed notebooks: no outputs, one tagged parameters cell with the shared parameters."""
import ast
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_and_with_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip outputs before committing"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = {t.id: ast.literal_eval(v) for node in ast.parse(tagged[0].source).body if isinstance(node, ast.Assign)
             for t, v in [(node.targets[0], node.value)]}
    assert names["scale"] == "cpu" and names["seed"] == 0
    assert names.get("setting", "both") == "both"  # notebook 05 has one setting, Section 6's (no parameter)
    assert names["results_dir"] is None  # resolved to results/<scale> under the repository root


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_is_followed_by_sentences_that_read_it(path):
    """After the cell that draws a figure comes one that says, from the run's own numbers, what it shows."""
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    drawing = [k for k, c in enumerate(cells) if "plots.fig" in c.source]
    assert drawing
    for k in drawing:
        assert k + 1 < len(cells) and "show_reading(" in cells[k + 1].source, cells[k].source[:80]
