"""The sentences under each figure, read from hand-made tables whose answers are known."""
import pandas as pd
import pytest

from undo_lib import readings


def _curves():
    rows = []
    for model, lr_values in {"Oracle": {1e-3: [0.0, 0.1], 1e-2: [0.0, 0.2], 1e-1: [0.0, 0.05]},
                             "Student (Reference)": {1e-3: [0.0, 0.3], 1e-2: [0.0, 0.7], 1e-1: [0.0, 0.9]}}.items():
        for lr, values in lr_values.items():
            for step, v in zip((0, 50), values):
                rows += [{"model": model, "lr": lr, "step": step, "metric": "forget", "value": v, "key": "k"},
                         {"model": model, "lr": lr, "step": step, "metric": "retain", "value": 1.0, "key": "k"}]
    return pd.DataFrame(rows)


def test_relearning_names_each_models_worst_case_its_best_rate_and_the_fastest():
    text = readings.relearning(_curves(), True, "accuracy")
    assert "50-step attack" in text
    assert "Oracle 0.00 → 0.20 (best rate 0.01)" in text  # the interior rate wins: no edge mark
    assert "Student (Reference) 0.00 → 0.90 (best rate 0.1, at the grid's edge)" in text
    assert "done best on **Student (Reference)**" in text
    lower = readings.relearning(_curves(), False, "cross-entropy")  # lower is better for the attacker
    assert "Oracle 0.00 → 0.05" in lower and "done best on **Oracle**" in lower
    with pytest.raises(ValueError, match="no forget curves"):
        readings.relearning(_curves().query("metric == 'retain'"), True, "accuracy")


def _table():
    rows = [(0.2, 0.1, 0.1, 0.2, True), (0.6, 0.1, 0.3, 0.5, True), (0.8, 0.1, 0.5, 0.9, False),
            (0.2, 1.0, 0.1, 0.3, True), (0.8, 1.0, 0.5, 0.8, False)]
    return pd.DataFrame(rows, columns=["alpha", "beta", "compute", "robustness", "recovered"])


def test_undo_scaling_reads_the_sweep_and_names_the_capped_students():
    text = readings.undo_scaling(_table(), 0.1)
    assert "α = 0.2 / 0.6 / 0.8" in text and "robustness 0.20 / 0.50 / 0.90" in text
    assert "compute 0.10 / 0.30 / 0.50" in text and "(α 0.8, β 0.1), (α 0.8, β 1)" in text
    recovered = _table().assign(recovered=True)
    assert "Every student recovered" in readings.undo_scaling(recovered, 0.1)
    with pytest.raises(ValueError, match="beta=0.5"):
        readings.undo_scaling(_table(), 0.5)


def test_alpha_vs_beta_averages_the_ranges_over_the_grid_only():
    # along alpha: beta 0.1 spans 0.9 - 0.2 = 0.7, beta 1.0 spans 0.8 - 0.3 = 0.5 -> 0.6; along beta: 0.1, 0.1
    text = readings.alpha_vs_beta(_table(), (0.2, 0.8), (0.1, 1.0))
    assert "spans 0.60 on average as α varies" in text and "0.10 as β varies" in text and "**α**" in text
    with pytest.raises(ValueError, match="incomplete"):
        readings.alpha_vs_beta(_table(), (0.2, 0.6), (0.1, 1.0))  # alpha 0.6 has no beta 1.0 student


def test_comparison_picks_each_methods_best_point_for_the_defender():
    points = pd.DataFrame([("undo", "a", "long", 0.9, 0.10), ("undo", "b", "long", 0.8, 0.05),
                           ("max_ent", "c", "long", 0.9, 0.40), ("max_ent", "c", "before", 0.9, 0.0),
                           ("data_filtering", "d", "long", 0.9, 0.01)],
                          columns=["method", "model", "stage", "retain", "forget"])
    text = readings.comparison(points, True, "accuracy")
    assert "UNDO 0.05 (retain 0.80); MaxEnt 0.40 (retain 0.90)" in text and "Data Filtering" not in text
    text = readings.comparison(points, False, "cross-entropy")  # the defender wants a high forget loss
    assert "MaxEnt 0.40 (retain 0.90); UNDO 0.10 (retain 0.90)" in text
    with pytest.raises(ValueError, match="stage 'short'"):
        readings.comparison(points, True, "accuracy", stage="short")


def test_choices_reads_the_chosen_rate_and_flags_an_end_of_the_sweep():
    scores = pd.DataFrame([("max_ent", 1e-4, 0.9, 0.8, 1.0, 0.5, False), ("max_ent", 3e-4, 0.9, 0.7, 1.0, 0.1, True),
                           ("max_ent", 1e-3, 0.9, 0.2, 1.0, 0.0, False), ("rmu", 1.0, 0.9, 0.8, 1.0, 0.6, False),
                           ("rmu", 3.0, 0.9, 0.85, 1.0, 0.3, True)],
                          columns=["method", "lr", "retain_initial", "retain_final", "forget_initial",
                                   "forget_final", "chosen"]).set_index(["method", "lr"])
    text = readings.choices(scores)
    assert "MaxEnt lr 0.0003: retain 0.90 → 0.70, forget 1.00 → 0.10" in text
    assert "RMU lr 3 (an end of its sweep" in text and "MaxEnt lr 0.0003 (" not in text
    with pytest.raises(ValueError, match="0 chosen"):
        readings.choices(scores.assign(chosen=False))


def test_distillation_reads_each_students_last_step():
    curves = pd.DataFrame([(0, "retain", 0.0, "max_ent"), (0, "forget", 0.0, "max_ent"),
                           (500, "retain", 0.8, "max_ent"), (500, "forget", 0.1, "max_ent")],
                          columns=["step", "metric", "value", "model"])
    assert readings.distillation(curves) == ("At the end of distillation (500 steps): MaxEnt retain 0.80, "
                                             "forget 0.10.")
    with pytest.raises(ValueError):
        readings.distillation(curves.iloc[:0])


def test_undefined_robustness_is_said_not_compared():
    table = _table().assign(robustness=float("nan"))  # Unlearn and Data Filtering relearned alike: 0 / 0
    assert readings.alpha_vs_beta(table, (0.2, 0.8), (0.1, 1.0)) == readings.UNDEFINED
    assert readings.UNDEFINED in readings.undo_scaling(table, 0.1)
