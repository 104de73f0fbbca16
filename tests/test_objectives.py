"""Each objective against a brute-force, position-by-position reference computation."""
import math
from types import SimpleNamespace

import pytest
import torch

from undo_lib.objectives import cross_entropy, forward_kl, grad_diff, make_objective, max_ent, rmu, undial


def _batch(B=3, T=7, V=11, pad_from=(7, 4, 5)):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, V, (B, T), generator=g)
    mask = torch.zeros(B, T, dtype=torch.long)
    for b, n in enumerate(pad_from):
        mask[b, :n] = 1
    return ids, mask, torch.randn(B, T, V, generator=g) * 3, torch.randn(B, T, V, generator=g) * 3


def test_cross_entropy_matches_brute_force_with_padding():
    ids, mask, logits, _ = _batch()
    total, count = 0.0, 0
    for b in range(ids.shape[0]):
        for t in range(ids.shape[1] - 1):
            if mask[b, t] and mask[b, t + 1]:
                p = torch.softmax(logits[b, t].double(), -1)
                total += -math.log(p[ids[b, t + 1]].item())
                count += 1
    got = cross_entropy(SimpleNamespace(logits=logits), {"input_ids": ids, "attention_mask": mask})
    assert count == 6 + 3 + 4
    assert abs(got.item() - total / count) < 1e-5


def test_forward_kl_matches_brute_force_with_padding():
    ids, mask, student, teacher = _batch()
    total, count = 0.0, 0
    for b in range(ids.shape[0]):
        for t in range(ids.shape[1]):
            if mask[b, t]:
                p = torch.softmax(teacher[b, t].double(), -1)
                q = torch.softmax(student[b, t].double(), -1)
                total += sum(p[v].item() * math.log(p[v].item() / q[v].item()) for v in range(len(p)))
                count += 1
    got = forward_kl(SimpleNamespace(logits=student),
                     {"input_ids": ids, "attention_mask": mask, "teacher_logits": teacher})
    assert abs(got.item() - total / count) < 1e-5


def test_forward_kl_is_zero_for_identical_outputs_and_positive_otherwise():
    ids, mask, student, teacher = _batch()
    batch = {"input_ids": ids, "attention_mask": mask, "teacher_logits": student.clone()}
    assert forward_kl(SimpleNamespace(logits=student), batch).abs().item() < 1e-6
    batch["teacher_logits"] = teacher
    assert forward_kl(SimpleNamespace(logits=student), batch).item() > 0.1


def test_forward_kl_is_computed_in_fp32_from_bf16_logits():
    ids, mask, student, teacher = _batch()
    batch = {"input_ids": ids, "attention_mask": mask, "teacher_logits": teacher.bfloat16()}
    got = forward_kl(SimpleNamespace(logits=student.bfloat16()), batch)
    assert got.dtype == torch.float32


def _brute_nll(logits, ids, b, t):
    p = torch.softmax(logits[b, t].double(), -1)
    return -math.log(p[ids[b, t + 1]].item())


def _pairs(mask, rows):
    """(b, t) positions counted for next-token losses on the given rows."""
    return [(b, t) for b in rows for t in range(mask.shape[1] - 1) if mask[b, t] and mask[b, t + 1]]


FORGET = torch.tensor([True, False, True])


def test_grad_diff_matches_brute_force():
    ids, mask, logits, _ = _batch()
    batch = {"input_ids": ids, "attention_mask": mask, "forget": FORGET}
    forget, retain = _pairs(mask, [0, 2]), _pairs(mask, [1])
    want = (-sum(_brute_nll(logits, ids, b, t) for b, t in forget) / len(forget)
            + 15 * sum(_brute_nll(logits, ids, b, t) for b, t in retain) / len(retain))
    got = grad_diff(SimpleNamespace(logits=logits), batch, alpha=15.0)
    assert abs(got.item() - want) < 1e-4


def test_max_ent_matches_brute_force_kl_from_uniform():
    ids, mask, logits, _ = _batch()
    batch = {"input_ids": ids, "attention_mask": mask, "forget": FORGET}
    V = logits.shape[-1]
    forget, retain = _pairs(mask, [0, 2]), _pairs(mask, [1])
    kl = 0.0
    for b, t in forget:
        p = torch.softmax(logits[b, t].double(), -1)
        kl += sum((1 / V) * math.log((1 / V) / p[v].item()) for v in range(V))
    want = kl / len(forget) + sum(_brute_nll(logits, ids, b, t) for b, t in retain) / len(retain)
    got = max_ent(SimpleNamespace(logits=logits), batch)
    assert abs(got.item() - want) < 1e-4
    # a uniform prediction on the forget rows leaves only the retain term
    flat = logits.clone()
    flat[FORGET] = 0.0
    only_retain = max_ent(SimpleNamespace(logits=flat), batch)
    assert abs(only_retain.item() - sum(_brute_nll(flat, ids, b, t) for b, t in retain) / len(retain)) < 1e-4


def test_rmu_matches_brute_force_on_a_tiny_model(tiny_model):
    """h_l = outputs.hidden_states[l + 1] is the output of decoder layer l (checked with a forward hook)."""
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, 40, (3, 6), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 4:] = 0
    seen = {}
    hook = tiny_model.model.layers[0].register_forward_hook(lambda m, i, o: seen.update(h=o[0] if isinstance(o, tuple) else o))
    outputs = tiny_model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    hook.remove()
    assert torch.allclose(outputs.hidden_states[1], seen["h"])
    h = seen["h"].double()
    frozen = h + 0.1 * torch.randn(h.shape, generator=g, dtype=torch.double)
    u = torch.rand(h.shape[-1], generator=g, dtype=torch.double)
    u = u / u.norm()
    forget = torch.tensor([True, True, False])
    mis, n_mis, pre, n_pre = 0.0, 0, 0.0, 0
    for b in range(3):
        for t in range(6):
            if not mask[b, t]:
                continue
            if forget[b]:
                mis += ((h[b, t] - 6.5 * u) ** 2).mean().item(); n_mis += 1
            else:
                pre += ((h[b, t] - frozen[b, t]) ** 2).mean().item(); n_pre += 1
    batch = {"input_ids": ids, "attention_mask": mask, "forget": forget, "teacher_hidden": frozen.float()}
    got = rmu(outputs, batch, layer=0, direction=u.float(), coeff=6.5, alpha=200.0)
    assert abs(got.item() - (mis / n_mis + 200 * pre / n_pre)) < 1e-3 * got.item()
    off = rmu(outputs, batch, layer=0, direction=u.float(), coeff=6.5, alpha=200.0, retain=False)
    assert abs(off.item() - mis / n_mis) < 1e-4 * off.item()
    # relative: the steering norm is coeff x the frozen model's mean ||h|| over real forget positions
    norms = [frozen[b, t].norm().item() for b in range(2) for t in range(6) if mask[b, t]]
    c = 0.25 * sum(norms) / len(norms)
    rel = sum(((h[b, t] - c * u) ** 2).mean().item() for b in range(2) for t in range(6) if mask[b, t]) / n_mis
    got = rmu(outputs, batch, layer=0, direction=u.float(), coeff=0.25, alpha=200.0, retain=False, relative=True)
    assert abs(got.item() - rel) < 1e-4 * rel and abs(rel - mis / n_mis) > 1e-2 * rel


def test_make_objective_binds_parameters_and_says_what_it_needs():
    kl = make_objective("forward_kl")
    assert kl.teacher == "logits" and kl.hidden_layer is None
    r = make_objective("rmu", layer=1, coeff=6.0, alpha=200.0, seed=0, hidden_size=8)
    assert r.teacher == "hidden" and r.hidden_layer == 1
    assert abs(r.params["direction"].norm().item() - 1) < 1e-6
    assert torch.equal(r.params["direction"], make_objective("rmu", layer=1, coeff=6.0, alpha=200.0, seed=0,
                                                             hidden_size=8).params["direction"])
    assert make_objective("rmu", layer=1, coeff=6, alpha=1, seed=0, hidden_size=8, retain=False).teacher is None
    assert make_objective("rmu", layer=1, coeff=0.25, alpha=1, seed=0, hidden_size=8, retain=False,
                          relative=True).teacher == "hidden"  # the norm is read from the frozen model
    with pytest.raises(ValueError, match="unknown objective"):
        make_objective("gradient_ascent")


def test_undial_matches_brute_force_on_forget_rows_with_a_prompt_mask():
    ids, mask, student, teacher = _batch()
    loss_mask = torch.ones_like(mask)
    loss_mask[:, :2] = 0  # the first two tokens are a "prompt": no loss where they are the target
    batch = {"input_ids": ids, "attention_mask": mask, "forget": FORGET, "teacher_logits": teacher,
             "loss_mask": loss_mask}
    total, count = 0.0, 0
    for b, t in _pairs(mask, [0, 2]):
        if not loss_mask[b, t + 1]:
            continue
        z = teacher[b, t].double().clone()
        z[ids[b, t + 1]] -= 5.0
        p, q = torch.softmax(z, -1), torch.softmax(student[b, t].double(), -1)
        total += sum(p[v].item() * math.log(p[v].item() / q[v].item()) for v in range(len(p)))
        count += 1
    got = undial(SimpleNamespace(logits=student), batch, beta=5.0)
    assert count > 0 and abs(got.item() - total / count) < 1e-5
    # beta 0 is plain self-distillation: zero when the student is the frozen model
    assert undial(SimpleNamespace(logits=teacher), batch, beta=0.0).abs().item() < 1e-6


def test_forward_with_internals_reads_every_layer_and_removes_its_hooks(tiny_model):
    from undo_lib.models import forward_with_internals, logit_lens
    ids = torch.randint(0, 40, (2, 5), generator=torch.Generator().manual_seed(0))
    seen = {}
    last = tiny_model.model.layers[-1]
    hook = last.register_forward_hook(lambda m, i, o: seen.update(h=o[0] if isinstance(o, tuple) else o))
    out = forward_with_internals(tiny_model, tiny_model, ids, torch.ones_like(ids))
    hook.remove()
    assert len(out.mlp_outputs) == 2 and len(out.lens_logits) == 1 and out.mlp_outputs[0].shape == (2, 5, 32)
    assert torch.allclose(logit_lens(tiny_model, seen["h"]), out.logits, atol=1e-5)  # the lens of the last layer
    assert all(not layer.mlp._forward_hooks for layer in tiny_model.model.layers)


def test_mmd_matches_the_pairwise_definition():
    from undo_lib.objectives import mmd
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(5, 3, generator=g) + 1, torch.randn(4, 3, generator=g)

    def k(a, b):
        return sum(math.exp(-((a - b) ** 2).sum().item() / (s * 3)) for s in (0.25, 0.5, 1, 2, 4)) / 5
    want = (sum(k(a, b) for a in x for b in x) / 25 + sum(k(a, b) for a in y for b in y) / 16
            - 2 * sum(k(a, b) for a in x for b in y) / 20)
    assert abs(mmd(x, y).item() - want) < 1e-5
    assert mmd(x, x).abs().item() < 1e-6


def test_rep_noise_matches_its_terms(tiny_model):
    from undo_lib.models import forward_with_internals
    from undo_lib.objectives import mmd, rep_noise
    g = torch.Generator().manual_seed(4)
    ids = torch.randint(0, 40, (3, 6), generator=g)
    mask = torch.ones_like(ids)
    mask[2, 4:] = 0
    batch = {"input_ids": ids, "attention_mask": mask, "forget": torch.tensor([True, False, True])}
    out = forward_with_internals(tiny_model, tiny_model, ids, mask)
    def ce(logits, rows):
        return cross_entropy(SimpleNamespace(logits=logits[rows]), {"input_ids": ids[rows], "attention_mask": mask[rows]})
    retain = ce(out.logits, [1])
    # forget CE over all forget tokens of rows 0 and 2 (a token-weighted mean), per readout
    forget = torch.stack([ce(z, [0, 2]) for z in (out.logits, *out.lens_logits)]).mean()
    gen = torch.Generator().manual_seed(int(ids.sum()))
    noise = []
    for h in out.mlp_outputs:
        x = torch.cat([h[0, :6], h[2, :4]])  # the real positions of the forget rows, in order
        noise.append(mmd(x, torch.randn(x.shape, generator=gen)))
    # MaxEnt's forget term, KL(U || p) per forget token, brute force over the vocabulary
    logp = torch.log_softmax(out.logits.double(), -1)
    V = logp.shape[-1]
    kls = [sum((1 / V) * (math.log(1 / V) - logp[b, t, v].item()) for v in range(V))
           for b in (0, 2) for t in range(5) if mask[b, t + 1]]
    want = sum(kls) / len(kls) + retain + 0.5 * torch.stack(noise).mean() - 2.0 * torch.log1p(forget)
    got = rep_noise(out, batch, alpha=2.0, beta=0.5)
    assert abs(got.item() - want.item()) < 1e-4
    alone = rep_noise(out, batch, alpha=2.0, beta=0.5, max_ent_weight=0.0)  # RepNoise without its MaxEnt base
    assert abs(alone.item() - (want.item() - sum(kls) / len(kls))) < 1e-4
    weighted = rep_noise(out, batch, alpha=2.0, beta=0.5, retain_weight=3.0)  # Section 6's retain weight
    assert abs(weighted.item() - (want.item() + 2 * retain.item())) < 1e-4
    assert make_objective("rep_noise", alpha=1.0, beta=1e-3).internals


def _brute_logprobs(logits, ids, mask, b):
    """[(position, log p(next token))] of row b over its counted positions, in float64."""
    out = []
    for t in range(ids.shape[1] - 1):
        if mask[b, t] and mask[b, t + 1]:
            out.append(math.log(torch.softmax(logits[b, t].double(), -1)[ids[b, t + 1]].item()))
    return out


def _unlearning_batch():
    ids, mask, logits, ref = _batch(B=4, pad_from=(7, 4, 5, 6))
    forget = torch.tensor([True, False, True, False])
    return ids, mask, logits, ref, forget


def _brute_retain_ce(logits, ids, mask, forget):
    nll = [-lp for b in range(ids.shape[0]) if not forget[b] for lp in _brute_logprobs(logits, ids, mask, b)]
    return sum(nll) / len(nll)


def test_npo_matches_brute_force():
    """NPO = gamma (2/beta) mean_forget log(1 + (p/p_ref)^beta) + alpha CE(retain), sequence probabilities."""
    from undo_lib.objectives import npo
    ids, mask, logits, ref, forget = _unlearning_batch()
    beta, gamma, alpha = 0.5, 0.7, 1.3
    terms = []
    for b in range(ids.shape[0]):
        if forget[b]:
            log_ratio = sum(_brute_logprobs(logits, ids, mask, b)) - sum(_brute_logprobs(ref, ids, mask, b))
            terms.append(2 / beta * math.log(1 + math.exp(beta * log_ratio)))
    want = gamma * sum(terms) / len(terms) + alpha * _brute_retain_ce(logits, ids, mask, forget)
    batch = {"input_ids": ids, "attention_mask": mask, "forget": forget, "teacher_logits": ref}
    got = npo(SimpleNamespace(logits=logits), batch, beta=beta, gamma=gamma, alpha=alpha)
    assert abs(got.item() - want) < 1e-4
    # at the reference itself the forget term is (2/beta) log 2, and its gradient is gradient ascent's
    same = dict(batch, teacher_logits=logits.clone())
    only_forget = npo(SimpleNamespace(logits=logits), same, beta=beta, gamma=1.0, alpha=0.0)
    assert abs(only_forget.item() - 2 / beta * math.log(2)) < 1e-5


def test_npo_gradient_at_the_reference_is_gradient_ascent():
    from undo_lib.objectives import npo
    ids, mask, logits, _, forget = _unlearning_batch()
    x = logits.clone().requires_grad_(True)
    batch = {"input_ids": ids, "attention_mask": mask, "forget": forget, "teacher_logits": logits.clone()}
    npo(SimpleNamespace(logits=x), batch, beta=0.1, alpha=0.0).backward()
    y = logits.clone().requires_grad_(True)
    logp = torch.log_softmax(y[:, :-1], -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    counted = (mask[:, :-1] * mask[:, 1:]).float() * forget.float()[:, None]
    ((logp * counted).sum() / forget.sum()).backward()  # d/dtheta of the mean forget sequence log-probability
    assert torch.allclose(x.grad, y.grad, atol=1e-5)


def test_simnpo_matches_brute_force():
    """SimNPO = gamma (2/beta) mean_forget -log sigmoid(beta (nll/|y| - delta)) + alpha CE(retain)."""
    from undo_lib.objectives import simnpo
    ids, mask, logits, _, forget = _unlearning_batch()
    beta, delta, gamma, alpha = 2.0, 0.5, 0.3, 1.1
    terms = []
    for b in range(ids.shape[0]):
        if forget[b]:
            lps = _brute_logprobs(logits, ids, mask, b)
            x = beta * (-sum(lps) / len(lps) - delta)
            terms.append(2 / beta * math.log(1 + math.exp(-x)))
    want = gamma * sum(terms) / len(terms) + alpha * _brute_retain_ce(logits, ids, mask, forget)
    batch = {"input_ids": ids, "attention_mask": mask, "forget": forget}
    got = simnpo(SimpleNamespace(logits=logits), batch, beta=beta, delta=delta, gamma=gamma, alpha=alpha)
    assert abs(got.item() - want) < 1e-4


def test_npo_needs_the_frozen_models_logits_and_simnpo_does_not():
    assert make_objective("npo", beta=0.1).teacher == "logits"
    assert make_objective("simnpo").teacher is None


def test_max_ent_kl_matches_brute_force_and_is_zero_on_retain_at_the_start():
    from undo_lib.objectives import max_ent_kl
    ids, mask, logits, _ = _batch()
    teacher = logits + torch.randn(logits.shape, generator=torch.Generator().manual_seed(5))
    batch = {"input_ids": ids, "attention_mask": mask, "forget": FORGET, "teacher_logits": teacher}
    V = logits.shape[-1]
    forget, retain = _pairs(mask, [0, 2]), _pairs(mask, [1])
    uniform = 0.0
    for b, t in forget:
        p = torch.softmax(logits[b, t].double(), -1)
        uniform += sum((1 / V) * math.log((1 / V) / p[v].item()) for v in range(V))
    held = 0.0
    for b, t in retain:
        q, p = torch.softmax(teacher[b, t].double(), -1), torch.softmax(logits[b, t].double(), -1)
        held += sum(q[v].item() * math.log(q[v].item() / p[v].item()) for v in range(V))
    want = uniform / len(forget) + 0.5 * held / len(retain)
    assert abs(max_ent_kl(SimpleNamespace(logits=logits), batch, alpha=0.5).item() - want) < 1e-4
    same = {**batch, "teacher_logits": logits}  # the model is still its frozen start: only the forget term is left
    assert abs(max_ent_kl(SimpleNamespace(logits=logits), same).item() - uniform / len(forget)) < 1e-4
