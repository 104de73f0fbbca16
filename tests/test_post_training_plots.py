"""Appendix F's figures from synthetic tables: Fig 12's three phases, Fig 13's metrics thin and their mean bold."""
import numpy as np
import pandas as pd
import pytest

from undo_lib import post_training_plots, readings
from undo_lib.post_training import KNOWLEDGE, PHASES
from undo_lib.scales import preset
from undo_lib.settings import make_setting


def test_fig12_draws_one_panel_per_phase_and_its_reading(tmp_path):
    rows = [{"phase": p, "step": s, "metric": m, "value": v}
            for p, v0 in zip(PHASES, (0.0, 0.9, 0.1)) for s in (0, 10) for m, v in
            (("forget", v0 + s / 100), ("model_utility", 0.5), ("forget_mia_auc", 0.5 + s / 50))]
    table = pd.DataFrame(rows)
    fig = post_training_plots.fig12(table, make_setting(preset("smoke", "tofu")), tmp_path)
    assert len(fig.axes) == 3 and (tmp_path / "fig12_tofu.png").exists()
    assert {line.get_label() for line in fig.axes[0].lines} == {"forget Q&A prob", "model utility", "MIA (min-k AUC)"}
    text = readings.phases(table)
    assert "unlearn (10 steps): forget Q&A prob 0.90 → 1.00" in text
    with pytest.raises(ValueError, match="no phase curves"):
        readings.phases(table.assign(metric="loss"))


def test_fig13_takes_each_metric_at_its_best_rate_and_draws_their_mean_bold(tmp_path):
    rows = []
    for model, strength in (("Unlearn", 0.8), ("Base", 0.1)):
        for lr, k in ((1e-3, 1.0), (1e-4, 0.5)):
            for step in (0, 10, 20):
                for i, metric in enumerate(KNOWLEDGE):
                    rows.append({"model": model, "lr": lr, "step": step, "metric": metric,
                                 "value": strength * k * step / 20 * (i + 1) / len(KNOWLEDGE)})
    fig = post_training_plots.fig13(pd.DataFrame(rows), make_setting(preset("smoke", "tofu")), tmp_path)
    bold = {line.get_label(): line for line in fig.axes[0].lines if line.get_linewidth() > 2}
    assert set(bold) == {"Unlearn (mean of 4)", "Base (mean of 4)"}
    # at step 20 the best rate is 1e-3 for every metric: the mean of 0.8 * (1, 2, 3, 4) / 4
    assert bold["Unlearn (mean of 4)"].get_ydata()[-1] == pytest.approx(0.8 * np.mean([1, 2, 3, 4]) / 4)
    thin = [line for line in fig.axes[0].lines if line.get_linewidth() < 1]
    assert len(thin) == 2 * len(KNOWLEDGE)
