"""Bootstrap intervals and verdicts against known cases."""
import numpy as np
import pytest

from undo_lib.stats import Interval, joint_bootstrap, paired_bootstrap, pooled


def _mean_difference(means):
    """means [B, 2] -> [B]: model 0's mean score minus model 1's."""
    return means[:, 0] - means[:, 1]


def test_a_paired_difference_matches_its_normal_interval():
    rng = np.random.default_rng(1)
    base = rng.random(400)
    scores = np.stack([base + 0.05 + rng.normal(0, 0.1, 400), base])  # [2 models, 400 items]
    got = paired_bootstrap(scores, _mean_difference, n_boot=2000)
    diff = scores[0] - scores[1]
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    assert abs(got.effect - diff.mean()) < 1e-12
    assert abs(got.low - (diff.mean() - 1.96 * se)) < 0.3 * se and abs(got.high - (diff.mean() + 1.96 * se)) < 0.3 * se
    assert got.verdict == "holds"


def test_pairing_matters_and_verdicts_follow_the_interval():
    """The same two score vectors: paired, a small shift is decided; unpaired noise would hide it."""
    rng = np.random.default_rng(2)
    base = rng.normal(0, 1, 300)
    assert paired_bootstrap(np.stack([base + 0.05, base]), _mean_difference).verdict == "holds"
    assert paired_bootstrap(np.stack([base - 0.05, base]), _mean_difference).verdict == "fails"
    noise = np.stack([rng.normal(0, 1, 300), rng.normal(0, 1, 300)])
    assert paired_bootstrap(noise, _mean_difference).verdict == "inconclusive"
    assert Interval(0.1, 0.02, 0.2).verdict == "holds" and Interval(-0.1, -0.2, 0.01).verdict == "inconclusive"
    with pytest.raises(ValueError, match="at least 2 items"):
        paired_bootstrap(np.ones((2, 1)), _mean_difference)


def test_pooling_over_seeds_keeps_the_spread_between_seeds():
    """Three seeds whose effects disagree in sign: each is decided on its own items, the pool is not."""
    rng = np.random.default_rng(3)
    by_seed = {}
    for seed, shift in enumerate((0.3, -0.25, 0.05)):
        base = rng.normal(0, 1, 500)
        by_seed[seed] = paired_bootstrap(np.stack([base + shift + rng.normal(0, 0.1, 500), base]), _mean_difference,
                                         seed=seed)
    assert [i.verdict for i in by_seed.values()] == ["holds", "fails", "holds"]
    pool = pooled(by_seed)
    assert abs(pool.effect - np.mean([i.effect for i in by_seed.values()])) < 1e-12
    assert pool.verdict == "inconclusive" and pool.high - pool.low > 0.3
    agreeing = pooled({s: by_seed[0] for s in range(3)})
    assert agreeing.verdict == "holds"


def test_a_cluster_bootstrap_draws_whole_clusters_as_a_by_hand_loop_does():
    """Each replicate draws clusters with replacement and averages every item of every drawn cluster."""
    rng = np.random.default_rng(3)
    clusters = np.array([7, 7, 7, 2, 2, 5, 9, 9, 9, 9])  # ids need not be 0..C-1 nor sorted
    scores = rng.random((2, len(clusters)))
    got = paired_bootstrap(scores, _mean_difference, n_boot=50, chunk=20, clusters=clusters)
    draw, ids = np.random.default_rng(0), np.unique(clusters)
    want = []
    for size in (20, 20, 10):  # the chunks, drawn in one call each
        for picks in draw.integers(0, len(ids), size=(size, len(ids))):
            items = np.concatenate([np.flatnonzero(clusters == ids[p]) for p in picks])
            want.append(scores[0, items].mean() - scores[1, items].mean())
    assert np.allclose(got.draws, want)
    with pytest.raises(ValueError, match="one cluster per item"):
        paired_bootstrap(scores, _mean_difference, clusters=clusters[:-1])


def test_correlated_items_widen_the_interval_only_when_resampled_as_clusters():
    """100 facts, each graded by 4 identical problems: 400 items are worth 100 observations, so the interval over
    clusters is about twice (sqrt 4) the one that takes the items as independent."""
    rng = np.random.default_rng(4)
    gain = rng.normal(0.1, 1, 100)  # model 0's gain over model 1 on each fact, the same on its four problems
    base = rng.random(400)
    scores = np.stack([base + np.repeat(gain, 4), base])
    items = paired_bootstrap(scores, _mean_difference, n_boot=2000)
    facts = paired_bootstrap(scores, _mean_difference, n_boot=2000, clusters=np.repeat(np.arange(100), 4))
    ratio = (facts.high - facts.low) / (items.high - items.low)
    assert facts.effect == items.effect and 1.5 < ratio < 2.5
    with pytest.raises(ValueError, match="at least 2 clusters"):
        paired_bootstrap(scores, _mean_difference, clusters=np.zeros(400))


def test_a_joint_cluster_bootstrap_resamples_each_group_as_a_by_hand_loop_does():
    rng = np.random.default_rng(5)
    a, b = rng.random((2, 6)), rng.random((2, 4))
    clusters = [None, np.array([0, 0, 1, 2])]
    got = joint_bootstrap([a, b], lambda m: m[0][:, 0] - m[1][:, 1], n_boot=30, clusters=clusters)
    draw, want = np.random.default_rng(0), []
    for _ in range(30):  # per replicate: group a's items, then group b's clusters
        items = draw.integers(0, 6, size=(1, 6))[0]
        picks = draw.integers(0, 3, size=(1, 3))[0]
        members = np.concatenate([np.flatnonzero(clusters[1] == p) for p in picks])
        want.append(a[0, items].mean() - b[1, members].mean())
    assert np.allclose(got.draws, want)
    with pytest.raises(ValueError, match="one entry"):
        joint_bootstrap([a, b], lambda m: m[0][:, 0], clusters=[None])


def test_the_t_interval_over_seeds_matches_scipy_and_needs_two_seeds():
    """stats.over_seeds: mean ± t(n-1) sd / sqrt(n) of the per-seed margins, as scipy's t.interval gives it."""
    import scipy.stats
    from undo_lib.stats import over_seeds
    effects = [0.11, 0.107, 0.09, 0.13]
    want = scipy.stats.t.interval(0.95, 3, loc=np.mean(effects), scale=scipy.stats.sem(effects))
    assert np.allclose(over_seeds(effects), want)
    assert all(np.isnan(over_seeds([0.2])))
