"""Training objectives: pure functions of (model outputs, batch) -> scalar loss.

Shapes: B rows, T positions, V vocabulary, D hidden size. `outputs.logits` is [B, T, V]; `batch["input_ids"]` and
`batch["attention_mask"]` are [B, T]. Position t predicts token t + 1, so T - 1 positions carry a loss; a position
counts when both it and its target are real tokens (attention_mask 1). Losses are means over counted positions.

Unlearning batches hold forget rows and retain rows together, told apart by `batch["forget"]` [B] bool; an
unlearning objective is one forward pass over both. Which method uses which loss with which hyperparameters is
the business of `methods.py`. `Objective` binds a function to its hyperparameters and says
what the training loop must supply: the frozen teacher's logits or hidden states, and the model's hidden states.
"""
import math
from dataclasses import dataclass, field
from types import SimpleNamespace

import torch
import torch.nn.functional as F


def _target_mask(batch) -> torch.Tensor:
    """[B, T-1] float: 1 where position t and its target t + 1 are both real tokens."""
    mask = batch["attention_mask"]
    return (mask[:, :-1] * mask[:, 1:]).float()


def _masked_mean(per_position, mask) -> torch.Tensor:
    return (per_position * mask).sum() / mask.sum().clamp_min(1)


def _rows(batch, forget: bool) -> torch.Tensor:
    """[B, 1] float: 1 on the forget rows (forget=True) or on the retain rows (forget=False)."""
    rows = batch["forget"] if forget else ~batch["forget"]
    return rows.float()[:, None]


def _token_nll(outputs, batch) -> torch.Tensor:
    """[B, T-1] next-token negative log-likelihood in fp32."""
    logits = outputs.logits[:, :-1].float()
    targets = batch["input_ids"][:, 1:]
    if not logits.is_cuda:  # the [B, V, T] layout: on a CPU the same as below to a few ulp (kept, see docs/history)
        return F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    flat = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    return flat.view(targets.shape)  # [B*T, V] rows: CUDA's [B, V, T] kernel took 90% of a 256K-vocabulary step


def cross_entropy(outputs, batch) -> torch.Tensor:
    """Next-token cross-entropy (nats per token), padding masked."""
    return _masked_mean(_token_nll(outputs, batch), _target_mask(batch))


def grad_diff(outputs, batch, alpha: float = 1.0) -> torch.Tensor:
    """GradDiff (Section 4): -CE(forget rows) + alpha * CE(retain rows), each a mean over its own tokens."""
    nll, mask = _token_nll(outputs, batch), _target_mask(batch)
    return -_masked_mean(nll, mask * _rows(batch, True)) + alpha * _masked_mean(nll, mask * _rows(batch, False))


def max_ent(outputs, batch, alpha: float = 1.0) -> torch.Tensor:
    """MaxEnt (Section 4): KL(Uniform || p_theta) on forget tokens + alpha * CE(retain rows).

    KL(U || p) = sum_v (1/V) (log(1/V) - log p(v)) = -log V - mean_v log p(v), computed without a uniform tensor."""
    logp = F.log_softmax(outputs.logits[:, :-1].float(), dim=-1)
    uniform_kl = -math.log(logp.shape[-1]) - logp.mean(-1)  # [B, T-1]
    nll = -logp.gather(-1, batch["input_ids"][:, 1:, None]).squeeze(-1)
    mask = _target_mask(batch)
    return _masked_mean(uniform_kl, mask * _rows(batch, True)) + alpha * _masked_mean(nll, mask * _rows(batch, False))


def rmu(outputs, batch, layer: int, direction: torch.Tensor, coeff: float, alpha: float, retain: bool = True,
        relative: bool = False):
    """RMU (Section 4): MSE(h_l(forget), c * u) + alpha * MSE(h_l(retain), h_l^frozen(retain)).

    Layer indexing: `layer` counts decoder layers from 0, and h_l is the *output* of decoder layer `layer`, i.e.
    `outputs.hidden_states[layer + 1]` [B, T, D] (entry 0 of Hugging Face's hidden_states is the embedding output).
    `batch["teacher_hidden"]` [B, T, D] is the same state of the frozen model before unlearning. `direction` [D] is
    a fixed random unit vector u. MSE is the mean over real positions and the D coordinates. retain=False drops the
    retain term (the authors' language/arithmetic runs). The steering norm c is `coeff`, or with relative=True
    `coeff` times the frozen model's mean ||h_l|| over the batch's real forget positions (so one coefficient means
    the same at every model width: Adaptive RMU's scaling, Dang et al. 2025)."""
    h = outputs.hidden_states[layer + 1].float()
    mask = batch["attention_mask"].float()[..., None]  # [B, T, 1]
    if relative:
        frozen_norm = batch["teacher_hidden"].float().norm(dim=-1, keepdim=True)  # [B, T, 1]
        coeff = coeff * _masked_mean(frozen_norm, mask * _rows(batch, True)[..., None]).detach()
    target = coeff * direction.to(h)
    misdirect = _masked_mean(((h - target) ** 2).mean(-1, keepdim=True), mask * _rows(batch, True)[..., None])
    if not retain:
        return misdirect
    preserve = ((h - batch["teacher_hidden"].float()) ** 2).mean(-1, keepdim=True)
    return misdirect + alpha * _masked_mean(preserve, mask * _rows(batch, False)[..., None])


def _kl(target_logits, student_logits) -> torch.Tensor:
    """[...] KL(softmax(target) || softmax(student)) over the last (vocabulary) dimension, in fp32."""
    target = F.log_softmax(target_logits.float(), dim=-1)
    return (target.exp() * (target - F.log_softmax(student_logits.float(), dim=-1))).sum(-1)


def max_ent_kl(outputs, batch, alpha: float = 1.0) -> torch.Tensor:
    """MaxEnt as Section 6 runs it on WMDP (Appendix D.2.3): KL(Uniform || p_theta) on forget tokens + alpha *
    KL(p_frozen || p_theta) on retain tokens, the retain term holding the model to its starting point rather than
    to the data. outputs.logits [B, T, V]; batch["teacher_logits"] [B, T, V] (the frozen starting model's), and
    "input_ids", "attention_mask", "forget" [B] as for max_ent. Returns a scalar."""
    logp = F.log_softmax(outputs.logits[:, :-1].float(), dim=-1)
    uniform_kl = -math.log(logp.shape[-1]) - logp.mean(-1)  # [B, T-1]
    retain_kl = _kl(batch["teacher_logits"][:, :-1], outputs.logits[:, :-1])  # [B, T-1]
    mask = _target_mask(batch)
    return _masked_mean(uniform_kl, mask * _rows(batch, True)) + alpha * _masked_mean(retain_kl, mask * _rows(batch, False))


def forward_kl(outputs, batch) -> torch.Tensor:
    """Distillation loss KL(teacher || student) = sum_v p_t(v) (log p_t(v) - log p_s(v)), averaged over positions.

    Needs `batch["teacher_logits"]` [B, T, V] (added by the training loop from the frozen teacher). Computed in fp32;
    every position with a real token counts (distillation matches the whole next-token distribution, so the last
    position too), padding does not.
    """
    return _masked_mean(_kl(batch["teacher_logits"], outputs.logits), batch["attention_mask"].float())


def undial(outputs, batch, beta: float = 10.0) -> torch.Tensor:
    """UNDIAL (Dong et al., 2024): self-distillation toward the frozen model's logits with the true next token
    pushed down, KL(softmax(z_ref - beta * onehot(y)) || p_theta), on forget rows only.

    `batch["teacher_logits"]` [B, T, V] are the frozen model's logits z_ref; position t's label y is token t + 1.
    Padding is masked, and so are positions outside `batch["loss_mask"]` [B, T] (e.g. prompts) when it is given."""
    z_ref = batch["teacher_logits"][:, :-1].float()
    target_ids = batch["input_ids"][:, 1:]
    pushed_down = z_ref.scatter_add(-1, target_ids[..., None], torch.full_like(z_ref[..., :1], -beta))
    per_position = _kl(pushed_down, outputs.logits[:, :-1])  # [B, T-1]
    mask = _target_mask(batch) * _rows(batch, True)
    if "loss_mask" in batch:
        mask = mask * batch["loss_mask"][:, 1:].float()
    return _masked_mean(per_position, mask)


def _sequence_logprob(outputs, batch) -> torch.Tensor:
    """[B] sum of log p(token t + 1 | tokens <= t) over each row's counted positions, in fp32."""
    return -(_token_nll(outputs, batch) * _target_mask(batch)).sum(-1)


def _forget_mean(per_row, batch) -> torch.Tensor:
    """Mean of [B] per-row values over the forget rows."""
    rows = batch["forget"].float()
    return (per_row * rows).sum() / rows.sum().clamp_min(1)


def npo(outputs, batch, beta: float = 0.1, gamma: float = 1.0, alpha: float = 1.0) -> torch.Tensor:
    """NPO (Zhang et al., 2024): gamma * (2 / beta) * mean over forget rows of log(1 + (p_theta(y) / p_ref(y))^beta)
    + alpha * CE(retain rows).

    p(y) is a forget row's sequence probability (the product over its counted positions); p_ref is the frozen
    model's, from `batch["teacher_logits"]` [B, T, V]. log(1 + r^beta) = -log sigmoid(-beta log r), so the forget
    term is -(2 / beta) log sigmoid(-beta (log p_theta(y) - log p_ref(y))): gradient ascent on the forget rows that
    fades as their probability falls below the reference's."""
    log_ratio = _sequence_logprob(outputs, batch) - _sequence_logprob(
        SimpleNamespace(logits=batch["teacher_logits"]), batch)
    forget = _forget_mean(-F.logsigmoid(-beta * log_ratio) * 2 / beta, batch)
    retain = _masked_mean(_token_nll(outputs, batch), _target_mask(batch) * _rows(batch, False))
    return gamma * forget + alpha * retain


def simnpo(outputs, batch, beta: float = 4.5, delta: float = 0.0, gamma: float = 0.125,
           alpha: float = 1.0) -> torch.Tensor:
    """SimNPO (Fan et al., 2024): gamma * (2 / beta) * mean over forget rows of -log sigmoid(beta * (nll(y) / |y|
    - delta)) + alpha * CE(retain rows).

    nll(y) / |y| is a forget row's mean next-token cross-entropy over its counted positions (length-normalized, no
    reference model); delta is a margin. Minimizing it pushes that cross-entropy up, ever more gently as it grows."""
    mask = _target_mask(batch)
    mean_nll = (_token_nll(outputs, batch) * mask).sum(-1) / mask.sum(-1).clamp_min(1)
    forget = _forget_mean(-F.logsigmoid(beta * (mean_nll - delta)) * 2 / beta, batch)
    retain = _masked_mean(_token_nll(outputs, batch), mask * _rows(batch, False))
    return gamma * forget + alpha * retain


def mmd(x: torch.Tensor, y: torch.Tensor, scales=(0.25, 0.5, 1.0, 2.0, 4.0)) -> torch.Tensor:
    """Squared maximum mean discrepancy between samples x [N, D] and y [M, D] under a Gaussian kernel averaged over
    bandwidths: k(a, b) = mean_s exp(-|a - b|^2 / (s * D))."""
    def k(a, b):
        d2 = torch.cdist(a, b).pow(2)
        return torch.stack([torch.exp(-d2 / (s * a.shape[-1])) for s in scales]).mean(0)
    return k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()


def rep_noise(outputs, batch, alpha: float = 1.0, beta: float = 1e-3, max_ent_weight: float = 1.0,
              max_positions: int = 512, retain_weight: float = 1.0) -> torch.Tensor:
    """RepNoise (Rosati et al., 2024) on the MaxEnt base (Appendix D.1: it "operates in addition to MaxEnt"):
    retain_weight * CE(retain rows) + max_ent_weight * KL(Uniform || p on forget tokens)
    + beta * MMD(MLP outputs on forget tokens, N(0, I)) - alpha * log(1 + L_forget)
    (max_ent_weight = 0: RepNoise alone).

    L_forget is the forget cross-entropy averaged over the final logits and the logit-lens readout of every other
    layer (`outputs.lens_logits`); the MMD is averaged over layers (`outputs.mlp_outputs`, each [B, T, D]), on at
    most `max_positions` forget positions, against Gaussian samples drawn from a generator seeded by the batch (so
    the loss is a pure function of its inputs). The weights follow this formula (RepNoise's code: beta on the noise
    term); Table 7's caption names them the other way round."""
    mask = _target_mask(batch)
    forget = mask * _rows(batch, True)
    nlls = [_token_nll(SimpleNamespace(logits=z), batch) for z in (outputs.logits, *outputs.lens_logits)]
    forget_ce = torch.stack([_masked_mean(nll, forget) for nll in nlls]).mean()
    positions = (batch["attention_mask"].bool() & batch["forget"][:, None]).reshape(-1)
    gen = torch.Generator(device=batch["input_ids"].device).manual_seed(int(batch["input_ids"].sum()))
    noise = []
    for h in outputs.mlp_outputs:
        x = h.reshape(-1, h.shape[-1])[positions][:max_positions].float()
        y = torch.randn(x.shape, generator=gen, device=x.device)
        noise.append(mmd(x, y))
    retain_ce = _masked_mean(nlls[0], mask * _rows(batch, False))
    uniform_kl = max_ent(outputs, batch, alpha=0.0)  # MaxEnt's forget term alone
    noise_term = beta * torch.stack(noise).mean()
    return retain_weight * retain_ce + max_ent_weight * uniform_kl + noise_term - alpha * torch.log1p(forget_ce)


@dataclass(frozen=True)
class Objective:
    """A loss function bound to its hyperparameters, and what the training loop must feed it.

    teacher: None, "logits" (batch["teacher_logits"]) or "hidden" (batch["teacher_hidden"], the frozen model's
    `hidden_layer` state); hidden_layer: the model is run with output_hidden_states when not None; internals:
    the model is run by models.forward_with_internals (MLP outputs and logit-lens readouts, for RepNoise)."""
    name: str
    params: dict = field(default_factory=dict)
    teacher: str | None = None
    hidden_layer: int | None = None
    internals: bool = False

    def __call__(self, outputs, batch) -> torch.Tensor:
        return LOSSES[self.name](outputs, batch, **self.params)

    @property
    def __name__(self):
        return self.name


LOSSES = {"cross_entropy": cross_entropy, "forward_kl": forward_kl, "grad_diff": grad_diff, "max_ent": max_ent,
          "max_ent_kl": max_ent_kl, "rmu": rmu, "undial": undial, "rep_noise": rep_noise, "npo": npo,
          "simnpo": simnpo}
TEACHER_LOGITS = ("forward_kl", "undial", "npo", "max_ent_kl")  # losses that read the frozen model's logits


def make_objective(name: str, **params) -> Objective:
    """The Objective `name` with its hyperparameters; RMU's direction is drawn here from params["seed"]."""
    if name not in LOSSES:
        raise ValueError(f"unknown objective {name!r}; choose from {sorted(LOSSES)}")
    if name in TEACHER_LOGITS:
        return Objective(name, params, teacher="logits")
    if name == "rmu":
        params = dict(params)
        gen = torch.Generator().manual_seed(int(params.pop("seed")))
        u = torch.rand(int(params.pop("hidden_size")), generator=gen)  # as the RMU authors: uniform, then normalized
        params["direction"] = u / u.norm()
        frozen = params.get("retain", True) or params.get("relative", False)
        return Objective(name, params, teacher="hidden" if frozen else None,
                         hidden_layer=params["layer"])
    if name == "rep_noise":
        return Objective(name, params, internals=True)
    return Objective(name, params)
