"""Figures drawn from tidy tables."""
import pandas as pd

from undo_lib.scales import preset
from undo_lib.settings import make_setting


def test_fig7_draws_every_stage_and_frontier(tmp_path):
    from undo_lib import plots
    rows = [{"method": m, "stage": st, "retain": r, "forget": f}
            for st in ("before attack", "after a long attack")
            for m, r, f in (("undo", 0.8, 0.1), ("undo", 0.7, 0.05), ("sam", 0.75, 0.3), ("data_filtering", 0.8, 0.02))]
    fig = plots.fig7(pd.DataFrame(rows), make_setting(preset("smoke", "arithmetic")), tmp_path)
    assert len(fig.axes) == 2 and (tmp_path / "fig7_arithmetic.png").exists() and (tmp_path / "fig7_arithmetic.pdf").exists()
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} == {"UNDO", "SAM", "Data Filtering"}
