"""Section 6's figures from synthetic curves: the best adversary bold, Fig 11 as Fig 7's panels."""
import pandas as pd

from undo_lib import wmdp_plots
from undo_lib.scales import preset
from undo_lib.settings import make_setting


def _curves():
    rows = []
    for adversary, k in (("forget/retain", 1.0), ("sp-forget/retain-qa", 2.0)):
        for method in ("max_ent", "rmu"):
            for model, strength in (("Unlearn", 0.4), ("UNDO", 0.1)):
                for lr in (1e-3, 1e-4):
                    for step in (0, 10, 20):
                        rows.append({"adversary": adversary, "method": method, "model": model, "lr": lr,
                                     "step": step, "metric": "forget",
                                     "value": min(1.0, strength * k * step / 20 * (2 if lr == 1e-3 else 1))})
                        if step == 0:
                            rows.append({**rows[-1], "metric": "retain", "value": 0.9})
    return pd.DataFrame(rows)


def test_fig8_draws_every_adversary_thin_and_the_best_bold(tmp_path):
    setting = make_setting(preset("smoke", "wmdp"))
    fig = wmdp_plots.fig8(_curves(), setting, tmp_path)
    assert len(fig.axes) == 2 and (tmp_path / "fig8_wmdp.png").exists()
    bold = {line.get_label(): line for line in fig.axes[0].lines if line.get_linewidth() > 2}
    assert set(bold) == {"Unlearn (best adversary)", "UNDO (best adversary)"}
    # the best adversary is the "sp-" one at the larger rate: Unlearn reaches 0.4 * 2 * 2 = 1.6, capped at 1.0
    assert list(bold["Unlearn (best adversary)"].get_ydata()) == [0.0, 0.8, 1.0]
    assert list(bold["UNDO (best adversary)"].get_ydata()) == [0.0, 0.2, 0.4]
    thin = [line for line in fig.axes[0].lines if line.get_linewidth() < 1 and line.get_xydata().size]
    assert len(thin) == 4  # 2 adversaries x 2 models


def test_fig11_is_fig7_with_the_attacker_choosing_the_adversary(tmp_path):
    setting = make_setting(preset("smoke", "wmdp"))
    fig, points = wmdp_plots.fig11(_curves(), 10, setting, tmp_path)
    assert (tmp_path / "fig11_wmdp.png").exists() and len(fig.axes) == 3
    long = points[(points.stage == "long") & (points.model == "UNDO") & (points.method == "max_ent")]
    assert long.forget.item() == 0.4 and long.retain.item() == 0.9
