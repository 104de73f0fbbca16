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
