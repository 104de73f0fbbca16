"""What notebook cells show: tables per setting and claims as sentences."""
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from undo_lib import display, verdicts
from undo_lib.stats import Interval


def test_as_frame_turns_what_cells_hold_into_tables():
    @dataclass
    class Cfg:
        alpha: float = 0.5
        name: str = "x"
    assert display.as_frame(Cfg()).loc["alpha", "value"] == "0.5"
    steps = display.as_frame({(0.2, 0.1): {"steps": 300, "recovered": True}, (0.8, 1.0): {"steps": 900,
                                                                                           "recovered": False}})
    assert steps.loc["0.8, 1", "steps"] == 900 and not steps.loc["0.8, 1", "recovered"]
    assert display.as_frame({"passes": 0.03}).loc["passes", "value"] == 0.03
    frame = pd.DataFrame({"a": [1.23456]})
    assert display.as_frame(frame) is frame


def test_claim_sentences_give_the_verdict_interval_and_the_whole_detail(tmp_path):
    detail = "worst-case forget accuracy: " + "x" * 120  # longer than pandas' 50-character cut
    draws = np.linspace(0.05, 0.2, 100)
    verdicts.record(tmp_path, "C1", "arithmetic", "cpu", 0, True, detail, interval=Interval(0.11, 0.08, 0.13, draws))
    verdicts.record(tmp_path, "C1", "language", "cpu", 0, False, "y", interval=Interval(-0.2, -0.3, -0.1, draws))
    sentences = display.claim_sentences(tmp_path, "C1", "cpu", 0)
    assert sentences[0] == (f"**C1 holds** in arithmetic (seed 0; margin +0.110, 95% interval [+0.080, +0.130]). "
                            f"{detail}.")
    assert sentences[1].startswith("**C1 fails** in language")
    with pytest.raises(ValueError, match="no C1 row"):
        display.claim_sentences(tmp_path, "C1", "cpu", 1)


def test_source_markdown_shows_the_mechanism_as_written():
    from undo_lib.attack import worst_case
    from undo_lib.noise import shrink_perturb
    text = display.source_markdown(shrink_perturb, worst_case)
    assert text.startswith("```python\ndef shrink_perturb(") and text.endswith("```")
    assert "p.mul_(1 - alpha).add_((alpha * beta * noise).to(p))" in text and "def worst_case(" in text
