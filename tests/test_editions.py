"""The student edition and the answer key, built from the real notebooks."""
import nbformat
import pytest

from undo_lib import editions, repo_path

NOTEBOOKS = sorted(repo_path("notebooks").glob("[0-9][0-9]_*.ipynb"))


def _tagged(nb, tag):
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_edition_leaves_one_answer_cell_per_exercise(path):
    nb = nbformat.read(path, as_version=4)
    found = editions.exercises(nb)
    assert len(found) >= 2 and all(len(solution) >= 2 for _, solution in found)  # code and its discussion
    assert all(any(c.cell_type == "markdown" and "**Discussion." in c.source for c in s) for _, s in found)
    student = editions.student_edition(nb)
    nbformat.validate(student)
    assert not _tagged(student, "solution") and _tagged(student, "parameters")
    answers = _tagged(student, "answer")
    assert len(answers) == len(found) and all(c.cell_type == "code" for c in answers)
    assert len(student.cells) == len(nb.cells) - sum(len(s) for _, s in found) + len(found)
    for k, cell in enumerate(student.cells):  # each answer cell right after its exercise
        if "answer" in cell.metadata.get("tags", []):
            assert "**Exercise" in student.cells[k - 1].source
    assert len(_tagged(nb, "solution")) > 0  # the source notebook is left as it was


def test_answer_key_holds_every_solution_and_refuses_a_missing_one(tmp_path):
    written = editions.build(repo_path("notebooks"), tmp_path)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS] + ["answer_key.ipynb"]
    key = nbformat.read(tmp_path / "answer_key.ipynb", as_version=4)
    nbformat.validate(key)
    solutions = [c.source for p in NOTEBOOKS for c in _tagged(nbformat.read(p, as_version=4), "solution")]
    assert [c.source for c in _tagged(key, "solution")] == solutions
    assert all(not c.outputs for c in key.cells if c.cell_type == "code")
    bare = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("**Exercise 1.** Why?")])
    with pytest.raises(ValueError, match="no solution"):
        editions.answer_key({"bare": bare})


def _executed(tmp_path, name="01_demo-seed0.ipynb", error=False):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("train()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="relearn: 50%|##   | 3/6\n"),
                    nbformat.v4.new_output("display_data", data={
                        "application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "bar"}),
                    nbformat.v4.new_output("stream", name="stdout", text="accuracy 0.97\n"),
                    nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0K", "text/plain": "<Figure>"})]
    if error:
        cell.outputs.append(nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[]))
    nb.cells = [nbformat.v4.new_markdown_cell("# 01 · Demo"), cell]
    nb.metadata["papermill"] = {"parameters": {"scale": "cpu", "seed": 0}, "start_time": "2026-11-27T17:14:05.1",
                                "end_time": "2026-11-27T17:30:00.0", "duration": 955.0}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"version_major": 2}}
    nbformat.write(nb, tmp_path / name)
    return nb


def test_published_edition_keeps_results_drops_progress_bars_and_says_how_it_ran(tmp_path):
    _executed(tmp_path)
    _executed(tmp_path, "01_demo-seed1.ipynb")  # another seed's copy is not published
    written = editions.publish(tmp_path, tmp_path / "out")
    assert [p.name for p in written] == ["01_demo.ipynb"]
    nb = nbformat.read(written[0], as_version=4)
    nbformat.validate(nb)
    note, _, code = nb.cells
    assert "widgets" not in nb.metadata
    assert "notebooks/01_demo.ipynb" in note.source and "scale='cpu'" in note.source and "16 min" in note.source
    assert [o.get("name") or next(iter(o.data)) for o in code.outputs] == ["stdout", "image/png"]


def test_published_edition_refuses_an_unexecuted_or_failed_notebook(tmp_path):
    nb = _executed(tmp_path, error=True)
    with pytest.raises(ValueError, match="error"):
        editions.publish(tmp_path, tmp_path / "out")
    del nb.metadata["papermill"]["end_time"]
    with pytest.raises(ValueError, match="not an executed notebook"):
        editions.published_edition(nb, "notebooks/01_demo.ipynb")
    with pytest.raises(ValueError, match="no executed"):
        editions.publish(tmp_path / "out", tmp_path / "elsewhere")
