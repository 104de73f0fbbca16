"""The README tables of notebooks 05 and 06: built from their CSVs' rows at scale cpu, numbers as the CSVs hold."""
import pandas as pd
import pytest

from undo_lib import report_stand_ins as tables


def test_tofu_models_lists_each_models_metrics_per_seed(tmp_path):
    rows = [dict(model=m, forget=f, forget_rouge=0.5, forget_mia_auc=0.6, retain=0.9, model_utility=0.8,
                 scale=scale, setting="tofu", seed=seed)
            for m, f in (("base", 0.0), ("unlearned (lr 0.0002)", 0.1)) for seed in (2, 0)
            for scale in ("cpu", "smoke")]
    pd.DataFrame(rows).assign(forget=lambda t: t.forget + t.seed / 100).to_csv(tmp_path / "tofu_models.csv",
                                                                                index=False)
    table = tables.tofu_models(tmp_path).splitlines()
    assert table[0].startswith("| model (seeds 0, 2) | forget Q&A prob |")
    assert table[3] == "| unlearned (lr 0.0002) | 0.100 / 0.120 | 0.500 / 0.500 | 0.600 / 0.600 | 0.900 / 0.900 | " \
                       "0.800 / 0.800 |"
    pd.DataFrame(rows).query("scale == 'smoke'").to_csv(tmp_path / "tofu_models.csv", index=False)
    with pytest.raises(ValueError, match="no rows at scale cpu"):
        tables.tofu_models(tmp_path)


def test_tofu_control_bolds_only_a_rise_whose_interval_excludes_zero(tmp_path):
    rows = [dict(model="finetuned", fp32=0.8, int4=0.79, rise=-0.01, ci_low=-0.03, ci_high=0.01, seed=2),
            dict(model="GradDiff lr 1e-05", fp32=0.5, int4=0.6, rise=0.1, ci_low=0.05, ci_high=0.15, seed=2)]
    pd.DataFrame(rows).assign(scale="cpu", setting="tofu").to_csv(tmp_path / "table14_control.csv", index=False)
    table = tables.tofu_control(tmp_path).splitlines()
    assert table[2] == "| 2 | finetuned | 0.800 | 0.790 | -0.010 [-0.030, +0.010] |"
    assert table[3] == "| 2 | GradDiff lr 1e-05 | 0.500 | 0.600 | **+0.100 [+0.050, +0.150]** |"


def _attack(adversary, model, lr, values, seed=2):
    """One attack's tidy rows: retain and forget at step 0, forget at steps 5 and 10."""
    rows = [dict(metric="retain", step=0, value=0.9)]
    rows += [dict(metric="forget", step=s, value=v) for s, v in zip((0, 5, 10), values)]
    return [dict(adversary=adversary, method="max_ent_kl", model=model, lr=lr, key="k", scale="cpu",
                 setting="wmdp", seed=seed, **r) for r in rows]


def test_wmdp_attacks_take_the_attackers_best_over_adversaries_and_rates(tmp_path):
    rows = (_attack("forget/retain", "Unlearn", 1e-3, (0.2, 0.5, 0.6))
            + _attack("forget/retain", "Unlearn", 1e-4, (0.2, 0.3, 0.4))
            + _attack("wiki-qa-long", "Unlearn", 1e-4, (0.2, 0.6, 0.5))
            + _attack("forget/retain", "UNDO", 1e-3, (0.1, 0.1, 0.2)))
    pd.DataFrame(rows).to_csv(tmp_path / "fig8_relearning.csv", index=False)
    table = tables.wmdp_attacks(tmp_path).splitlines()
    # Unlearn's worst case: 0.2, 0.6 (wiki-qa-long), 0.6 (forget/retain @ 1e-3); trapezoid mean (0.4 x 5 + 0.6 x 5) / 10
    assert table[2] == "| 2 | MaxEnt | Unlearn | 0.900 | 0.200 | 0.500 | 0.600 | forget/retain @ lr=0.001 |"
    assert table[3] == "| 2 | MaxEnt | UNDO | 0.900 | 0.100 | 0.125 | 0.200 | forget/retain @ lr=0.001 |"


def test_wmdp_alphas_mark_a_student_below_the_bar(tmp_path):
    rows = [dict(alpha=a, retain=r, teacher_retain=0.8, recovered=r >= 0.76, scale="cpu", setting="wmdp", seed=s)
            for s in (0, 2) for a, r in ((0.25, 0.78), (0.6, 0.5 + s / 10))]
    pd.DataFrame(rows).to_csv(tmp_path / "table13_alpha.csv", index=False)
    table = tables.wmdp_alphas(tmp_path).splitlines()
    assert table[0].startswith("| α (seeds 0, 2) | retain |")
    assert table[2] == "| 0.25 | 0.780 / 0.780 | 0.800 / 0.800 | yes / yes |"
    assert table[3] == "| 0.6 | 0.500 / 0.700 | 0.800 / 0.800 | **no** / **no** |"


def test_wmdp_budget_picks_five_budget_shares_and_bolds_what_misses_the_bar(tmp_path):
    steps = range(0, 2501, 125)
    rows = [dict(alpha=a, step=s, budget_share=s / 2500, retain=min(0.9, r0 + s / 1000), teacher_retain=0.92,
                 recovered=min(0.9, r0 + s / 1000) >= 0.874, scale="cpu", setting="wmdp", seed=2)
            for a, r0 in ((0.0, 0.9), (0.6, 0.17)) for s in steps]
    pd.DataFrame(rows).to_csv(tmp_path / "table13_budget.csv", index=False)
    table = tables.wmdp_budget(tmp_path).splitlines()
    assert table[0] == "| seed | α | teacher's validation retain | step 125 | step 250 | step 500 | step 1250 | step 2500 |"
    assert table[2] == "| 2 | 0 | 0.920 | 0.90 | 0.90 | 0.90 | 0.90 | 0.90 |"
    assert table[3] == "| 2 | 0.6 | 0.920 | **0.30** | **0.42** | **0.67** | 0.90 | 0.90 |"
