"""Section 6's configuration against Tables 9-13 of the paper, and the adversaries of Table 12."""
import pytest

from undo_lib import wmdp


def test_unlearning_follows_table9():
    u = wmdp.PAPER.unlearn
    assert (u.batch_size, u.seq_len, u.steps, u.schedule, u.weight_decay, u.warmup) == (40, 256, 90, "constant", 0, 0)
    assert (u.rmu_c, u.rmu_layers, u.rmu_end_layer) == (80, (10, 11, 12, 13, 14, 15), 15)


def test_selected_models_follow_table10_best_retain_first():
    assert wmdp.SELECTED[("bio", "rmu")][0] == (0.5, 5e-5) and wmdp.SELECTED[("bio", "max_ent")][0] == (0.3, 2e-5)
    assert wmdp.SELECTED[("cyber", "rmu")][0] == (0.5, 2e-5) and wmdp.SELECTED[("cyber", "max_ent")][0] == (0.2, 2e-5)
    assert all(len(v) == 3 and all(0 < a < 1 and 0 < lr < 1e-3 for a, lr in v) for v in wmdp.SELECTED.values())
    assert {d for d, _ in wmdp.SELECTED} == set(wmdp.DOMAINS)


def test_auxiliary_mix_follows_table11():
    shares = [share for _, _, share in wmdp.AUXILIARY_MIX]
    assert sum(shares) == pytest.approx(1.0) and len(shares) == 10
    assert wmdp.AUXILIARY_MIX[0] == ("HuggingFaceFW/fineweb-edu", "sample-10BT", 0.35)


def test_adversaries_follow_table12():
    names = [a.name for a in wmdp.ADVERSARIES]
    assert len(names) == len(set(names)) == 8
    by_name = {a.name: a for a in wmdp.ADVERSARIES}
    assert by_name["wiki-qa-long"].dataset == 3 and by_name["wiki-qa-long"].seq_len == 1024
    assert by_name["forget/retain-qa"].seq_len == 256 and not by_name["forget/retain-qa"].shrink_perturb
    assert [a.name for a in wmdp.ADVERSARIES if a.shrink_perturb] == ["sp-forget/retain", "sp-forget/retain-qa",
                                                                      "sp-bio-wiki-qa-long"]
    assert all(sum(w for _, w in wmdp.DATASETS[a.dataset]) == pytest.approx(1.0) for a in wmdp.ADVERSARIES)
    assert wmdp.SHRINK_PERTURB_ALPHA == 0.05
    with pytest.raises(ValueError, match="dataset must be one of"):
        wmdp.Adversary("bad", 4, long=False, shrink_perturb=False)


def test_undo_baselines_and_evaluation_follow_section6_and_appendix_d2():
    p = wmdp.PAPER
    assert (p.undo_alpha, p.undo_beta, p.sam_rho, p.rep_noise_alpha, p.rep_noise_beta) == (0.25, 0.0, 0.01, 1, 1)
    assert (p.retain_task, p.retain_fewshot, p.retain_share) == ("mmlu", 5, 0.4)
    assert dict(p.forget_tasks) == {"bio": "wmdp_bio", "cyber": "wmdp_cyber"} and len(p.seeds) == 4
    assert p.distill_tokens == 300_000_000 and wmdp.TABLE13_ALPHAS == (0.0, 0.25, 0.35, 0.6)


def test_scale_paper_names_what_it_needs_from_the_hub_offline(offline):
    from undo_lib import wmdp
    wmdp.check_scale("cpu")  # the stand-in needs nothing
    with pytest.raises(RuntimeError, match="Section 6 at scale 'paper' needs the Hugging Face hub.*google/gemma-2-2b"
                                           ".*cais/wmdp.*fineweb-edu"):
        wmdp.check_scale("paper")
