"""Figures drawn from tidy tables."""
import pandas as pd

from undo_lib.scales import preset
from undo_lib.settings import make_setting


def test_fig7_draws_every_stage_and_frontier(tmp_path):
    from undo_lib import plots
    rows = [{"method": m, "stage": st, "retain": r, "forget": f}
            for st, df_forget in (("before attack", 0.06), ("after a long attack", -0.5))
            for m, r, f in (("undo", 0.8, 0.1), ("undo", 0.7, 0.05), ("sam", 0.75, 0.3),
                            ("data_filtering", 0.78, df_forget))]
    fig = plots.fig7(pd.DataFrame(rows), make_setting(preset("smoke", "arithmetic")), tmp_path)
    assert len(fig.axes) == 2 and (tmp_path / "fig7_arithmetic.png").exists() and (tmp_path / "fig7_arithmetic.pdf").exists()
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} == {"UNDO", "SAM", "Data Filtering"}
    # zoomed on the methods: a Data Filtering point far outside them becomes an arrow labelled with its numbers
    assert fig.axes[1].get_ylim()[0] > -0.1
    assert "Data Filtering (arrow: off the axes)" in {t.get_text() for t in fig.axes[1].get_legend().get_texts()}
    assert any("(0.78, -0.50)" in t.get_text() for t in fig.axes[1].texts)
    assert [t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("(")][0] == "(c)"  # arithmetic: after 2 language panels


def test_every_committed_figure_is_redrawn_from_the_committed_tables(tmp_path):
    """`python -m undo_lib.redraw results/cpu` redraws every committed figure from the CSVs alone, pixel for pixel: a
    figure drawing data the tables lack (or missing data they hold) fails here."""
    import matplotlib.image as mpimg
    import numpy as np
    from undo_lib import repo_path
    from undo_lib.redraw import redraw
    pairs = [(repo_path("results", "cpu"), repo_path("figures"))]
    for k, (results, figures) in enumerate(pairs):
        drawn = redraw(results, tmp_path / str(k), formats=("png",))
        committed = sorted(p.stem for p in figures.glob("*.png"))
        assert committed and sorted(drawn) == committed
        for name in committed:
            new, old = mpimg.imread(tmp_path / str(k) / f"{name}.png"), mpimg.imread(figures / f"{name}.png")
            assert new.shape == old.shape, name
            assert (np.abs(new - old).max(-1) > 0.1).mean() < 1e-4, f"{figures}/{name}.png differs from its tables"


def test_explore_undo_draws_the_chosen_student_against_the_baselines(monkeypatch):
    import matplotlib.pyplot as plt
    from undo_lib import plots
    setting = make_setting(preset("smoke", "arithmetic"))
    table = pd.DataFrame({"alpha": [0.2, 0.8], "beta": [0.1, 0.1], "robustness": [0.1, 0.7],
                          "compute": [0.05, 0.3], "recovered": [True, False]})
    rows = []
    for model, alpha, value in (("Unlearn", None, 0.9), ("Data Filtering", None, 0.1),
                                ("UNDO alpha=0.2 beta=0.1", 0.2, 0.8), ("UNDO alpha=0.8 beta=0.1", 0.8, 0.3)):
        for step in (0, 10):
            rows.append({"model": model, "alpha": alpha, "beta": None if alpha is None else 0.1, "lr": 1e-3,
                         "step": step, "metric": "forget", "value": value * step / 10})
    drawn = []
    monkeypatch.setattr(plt, "show", lambda: drawn.append(plt.gcf()))
    widget = plots.explore_undo(table, pd.DataFrame(rows), setting)
    widget.widget.children[0].value = 0.8  # move the alpha slider: the figure is redrawn for that student
    ax = drawn[-1].axes[0]
    assert "α=0.8, β=0.1: robustness 0.70, compute 0.30, stopped at the cap" in ax.get_title()
    assert sorted(line.get_label() for line in ax.lines) == ["Data Filtering", "UNDO", "Unlearn"]


def test_fig7_draws_a_capped_undo_student_hollow(tmp_path):
    from undo_lib import plots
    rows = [{"method": "undo", "stage": "long", "retain": 0.8, "forget": 0.1, "capped": True},
            {"method": "undo", "stage": "long", "retain": 0.7, "forget": 0.05, "capped": False},
            {"method": "sam", "stage": "long", "retain": 0.75, "forget": 0.3, "capped": None}]  # older tables: empty
    fig = plots.fig7(pd.DataFrame(rows), make_setting(preset("smoke", "arithmetic")), tmp_path)
    hollow = [c for c in fig.axes[0].collections if len(c.get_offsets()) and not c.get_facecolors().size]
    assert len(hollow) == 1 and hollow[0].get_offsets().tolist() == [[0.8, 0.1]]
    assert "UNDO, stopped at the cap" in {t.get_text() for t in fig.axes[0].get_legend().get_texts()}


def test_later_sections_are_redrawn_from_their_tables_as_the_notebooks_drew_them(tmp_path):
    """Figs 12 and 13 (notebook 06) drawn from a table in memory and redrawn from the CSV `save_results` wrote
    are the same picture, whatever was drawn before in the process (one theme for every figure)."""
    import matplotlib.image as mpimg
    import numpy as np
    from undo_lib import post_training_plots
    from undo_lib.redraw import redraw
    from undo_lib.post_training import METRIC_NAMES, PHASES
    from undo_lib.results import save_results
    setting = make_setting(preset("smoke", "tofu"))
    rng = np.random.default_rng(0)
    phases = pd.DataFrame([{"phase": p, "step": s, "metric": m, "value": rng.random()}
                           for p in PHASES for s in (0, 5, 10) for m in METRIC_NAMES])
    curves = pd.DataFrame([{"model": model, "lr": lr, "step": s, "metric": m, "value": rng.random()}
                           for model in ("Unlearn", "Unlearn-and-Distill", "Base") for lr in (1e-3, 1e-4)
                           for s in (0, 5, 10) for m in METRIC_NAMES])
    post_training_plots.fig12(phases, setting, tmp_path / "notebook", 3)
    post_training_plots.fig13(curves, setting, tmp_path / "notebook", 3)
    results = tmp_path / "results" / "smoke"
    save_results(phases, "fig12_phases", results, "smoke", "tofu", 3)
    save_results(curves, "fig13_relearning", results, "smoke", "tofu", 3)
    drawn = redraw(results, tmp_path / "redrawn", formats=("png",))
    assert sorted(drawn) == ["fig12_tofu_seed3", "fig13_tofu_seed3"]
    for name in drawn:
        new, old = (mpimg.imread(tmp_path / d / f"{name}.png") for d in ("redrawn", "notebook"))
        assert new.shape == old.shape and (np.abs(new - old).max(-1) > 0.1).mean() < 1e-4, name


def test_prune_deletes_only_the_figures_not_drawn(tmp_path):
    """`redraw --prune` deletes a figure whose data the tables no longer hold, in every format, and nothing else."""
    from undo_lib.redraw import prune
    for name in ("fig2_arithmetic.png", "fig2_arithmetic.pdf", "fig2_arithmetic_seed1.png",
                 "fig2_arithmetic_seed1.pdf", "notes.png"):
        (tmp_path / name).write_bytes(b"")
    gone = prune(tmp_path, ["fig2_arithmetic"], formats=("png", "pdf"))
    assert sorted(p.name for p in gone) == ["fig2_arithmetic_seed1.pdf", "fig2_arithmetic_seed1.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig2_arithmetic.pdf", "fig2_arithmetic.png", "notes.png"]
