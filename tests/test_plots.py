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
    """`python -m undo_lib.plots results/cpu` redraws every committed figure from the CSVs alone, pixel for pixel: a
    figure drawing data the tables lack (or missing data they hold) fails here."""
    import matplotlib.image as mpimg
    import numpy as np
    from undo_lib import plots, repo_path
    drawn = plots.redraw(repo_path("results", "cpu"), tmp_path, formats=("png",))
    committed = sorted(p.stem for p in repo_path("figures").glob("*.png"))
    assert sorted(drawn) == committed
    for name in committed:
        new, old = mpimg.imread(tmp_path / f"{name}.png"), mpimg.imread(repo_path("figures", f"{name}.png"))
        assert new.shape == old.shape, name
        assert (np.abs(new - old).max(-1) > 0.1).mean() < 1e-4, f"figures/{name}.png differs from its tables"
