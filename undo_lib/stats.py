"""Deciding a claim beyond noise: paired bootstrap intervals over graded items, and a three-valued verdict.

Every model of an experiment is graded on the same items (arithmetic problems, text windows), so a margin between
two models is resampled *paired*: one draw of item indices serves every model, step and learning rate. A claim
`holds` only where the 95% interval of its margin excludes zero in the claimed direction, `fails` where it excludes
zero in the other direction, and is `inconclusive` otherwise.
"""
from dataclasses import dataclass

import numpy as np

VERDICTS = ("holds", "fails", "inconclusive")


@dataclass(frozen=True, eq=False)
class Interval:
    """An effect with its bootstrap interval; `verdict` for a claimed direction (effect > 0 claimed). `draws`: the
    bootstrap replicates it came from (for pooling over seeds)."""
    effect: float
    low: float
    high: float
    draws: np.ndarray | None = None

    @property
    def verdict(self) -> str:
        if self.low > 0:
            return "holds"
        if self.high < 0:
            return "fails"
        return "inconclusive"

    def __str__(self):
        return f"{self.effect:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"


def paired_bootstrap(scores: np.ndarray, statistic, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                     chunk: int = 100) -> Interval:
    """The statistic of item scores and its percentile interval over `n_boot` resamplings of the items.

    scores: [..., N], items on the last axis (the same items for every leading index: paired); statistic: maps
    the item means of B resamplings, [B, ...], to [B] (it is called with B = 1 for the estimate)."""
    scores = np.asarray(scores, dtype=float)
    if scores.shape[-1] < 2:
        raise ValueError(f"a bootstrap needs at least 2 items, got {scores.shape[-1]}")
    rng = np.random.default_rng(seed)
    n = scores.shape[-1]
    estimate = float(statistic(scores.mean(-1)[None])[0])
    draws = []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))       # [b, N]
        means = np.take(scores, idx, axis=-1).mean(-1)                      # [..., b]
        draws.append(np.asarray(statistic(np.moveaxis(means, -1, 0)), dtype=float))
    return _interval(estimate, np.concatenate(draws), level)


def joint_bootstrap(groups: list, statistic, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    """`paired_bootstrap` over several sets of items at once (e.g. retain problems and forget problems): each
    replicate resamples every group's items, paired within the group; statistic maps the list of the groups'
    means, each [1, ...], to [1]."""
    groups = [np.asarray(g, dtype=float) for g in groups]
    if any(g.shape[-1] < 2 for g in groups):
        raise ValueError("a bootstrap needs at least 2 items in every group")
    rng = np.random.default_rng(seed)
    estimate = float(statistic([g.mean(-1)[None] for g in groups])[0])
    draws = np.array([float(statistic([np.take(g, rng.integers(0, g.shape[-1], g.shape[-1]), axis=-1).mean(-1)[None]
                                       for g in groups])[0]) for _ in range(n_boot)])
    return _interval(estimate, draws, level)


def _interval(estimate: float, draws: np.ndarray, level: float = 0.95) -> Interval:
    alpha = (1 - level) / 2
    return Interval(estimate, float(np.quantile(draws, alpha)), float(np.quantile(draws, 1 - alpha)), draws)


def pooled(by_seed: dict, seed: int = 0, level: float = 0.95) -> Interval:
    """The mean effect over seeds {seed: Interval} and its interval from a two-level bootstrap: each replicate
    draws seeds with replacement, then averages one item-level replicate of each drawn seed, so the interval holds
    both the spread between seeds and the noise of the graded items."""
    if not by_seed:
        raise ValueError("no seeds to pool")
    draws = np.stack([i.draws for i in by_seed.values()])                  # [S, B]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(draws), size=(draws.shape[1], len(draws)))  # [B, S]
    replicates = draws[picks, np.arange(draws.shape[1])[:, None]].mean(1)  # [B]
    return _interval(float(np.mean([i.effect for i in by_seed.values()])), replicates, level)
