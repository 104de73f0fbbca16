"""Deciding a claim beyond noise: paired bootstrap intervals over graded items, and a three-valued verdict.

Every model of an experiment is graded on the same items (arithmetic problems, text windows), so a margin between
two models is resampled *paired*: one draw of item indices serves every model, step and learning rate. Items that
state the same fact (an arithmetic fact's a×b, b×a, c÷a and c÷b) are resampled together when their `clusters` are
given: a draw takes whole clusters, so correlated items do not count as independent evidence. A claim
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


def _cluster_index(clusters, n: int):
    """The cluster (0..C-1) of each of n items, or None for items resampled one by one."""
    if clusters is None:
        return None
    clusters = np.asarray(clusters)
    if clusters.shape != (n,):
        raise ValueError(f"clusters must name one cluster per item ({n}), got shape {clusters.shape}")
    index = np.unique(clusters, return_inverse=True)[1]
    if index.max() < 1:
        raise ValueError("a cluster bootstrap needs at least 2 clusters")
    return index


def _resampled_means(scores: np.ndarray, b: int, rng, index) -> np.ndarray:
    """Item means of b resamplings, [..., b]: items drawn with replacement, or whole clusters where `index` (each
    item's cluster, from _cluster_index) is given."""
    n = scores.shape[-1]
    if index is None:
        return np.take(scores, rng.integers(0, n, size=(b, n)), axis=-1).mean(-1)
    c = index.max() + 1
    counts = np.zeros((b, c))
    np.add.at(counts, (np.arange(b)[:, None], rng.integers(0, c, size=(b, c))), 1)  # draws of each cluster
    weights = counts[:, index]                                              # [b, N]: each item's multiplicity
    return np.tensordot(scores, weights, axes=([-1], [1])) / weights.sum(1)


def paired_bootstrap(scores: np.ndarray, statistic, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                     chunk: int = 100, clusters=None) -> Interval:
    """The statistic of item scores and its percentile interval over `n_boot` resamplings of the items (of whole
    clusters of items where `clusters`, one id per item, is given).

    scores: [..., N], items on the last axis (the same items for every leading index: paired); statistic: maps
    the item means of B resamplings, [B, ...], to [B] (it is called with B = 1 for the estimate)."""
    scores = np.asarray(scores, dtype=float)
    if scores.shape[-1] < 2:
        raise ValueError(f"a bootstrap needs at least 2 items, got {scores.shape[-1]}")
    rng, index = np.random.default_rng(seed), _cluster_index(clusters, scores.shape[-1])
    estimate = float(statistic(scores.mean(-1)[None])[0])
    draws = []
    for start in range(0, n_boot, chunk):
        means = _resampled_means(scores, min(chunk, n_boot - start), rng, index)  # [..., b]
        draws.append(np.asarray(statistic(np.moveaxis(means, -1, 0)), dtype=float))
    return _interval(estimate, np.concatenate(draws), level)


def joint_bootstrap(groups: list, statistic, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                    clusters: list | None = None) -> Interval:
    """`paired_bootstrap` over several sets of items at once (e.g. retain problems and forget problems): each
    replicate resamples every group's items (or clusters: `clusters`, one entry per group, None or one id per
    item), paired within the group; statistic maps the list of the groups' means, each [1, ...], to [1]."""
    groups = [np.asarray(g, dtype=float) for g in groups]
    if any(g.shape[-1] < 2 for g in groups):
        raise ValueError("a bootstrap needs at least 2 items in every group")
    clusters = [None] * len(groups) if clusters is None else list(clusters)
    if len(clusters) != len(groups):
        raise ValueError(f"clusters: one entry (None or ids) per group, got {len(clusters)} for {len(groups)}")
    rng = np.random.default_rng(seed)
    index = [_cluster_index(c, g.shape[-1]) for c, g in zip(clusters, groups)]
    estimate = float(statistic([g.mean(-1)[None] for g in groups])[0])
    draws = np.array([float(statistic([np.moveaxis(_resampled_means(g, 1, rng, i), -1, 0)
                                       for g, i in zip(groups, index)])[0]) for _ in range(n_boot)])
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


def over_seeds(effects, level: float = 0.95) -> tuple[float, float]:
    """The t-interval of a claim's mean margin from its per-seed margins alone: mean ± t(n-1) · sd / √n.

    Where `pooled` resamples only the seeds at hand (with two or three it cannot reach beyond their values), this
    treats them as draws of a training run's noise, so it widens with few seeds (t(2) = 4.30). effects: [n]
    per-seed margins. Returns (low, high); NaN for fewer than two seeds."""
    from scipy import stats as scipy_stats
    x = np.asarray(effects, dtype=float)
    if len(x) < 2:
        return float("nan"), float("nan")
    half = scipy_stats.t.ppf((1 + level) / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)
