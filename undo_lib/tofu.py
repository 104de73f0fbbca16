"""TOFU's metrics (Maini et al., 2024, as the OpenUnlearning framework computes them) and their evaluator.

Appendix F tracks seven metrics over finetuning, unlearning and distillation (Fig 12): OpenUnlearning's default TOFU
suite. Per question (prompt "Question: q\\nAnswer:", graded on the answer's tokens and its end-of-text token):
- Q&A probability: TOFU's is exp(-mean NLL of the answer's tokens), a length-normalized probability. Here it is the
  answer's probability as a whole (PER_TOKEN = False): TOFU's answers are sentences of sub-word tokens that mostly
  carry the fact, ours are characters, of which a fact's value decides the first one or two. Normalized per
  character, a model that never saw the forget authors scored 0.71 on their facts (device trial, scale cpu);
  whole, it scores about one over the field's 12 values;
- ROUGE: ROUGE-L recall of the greedy answer against the true one (rouge_score, stemmed);
- truth ratio: tr = P(perturbed answers) / P(paraphrased answer), P as the Q&A probability's and the five perturbed
  ones averaged in log space; forget aggregates mean min(tr, 1/tr), retain mean max(0, 1 - tr);
- extraction strength: 1 - k / n, k the first answer position from which every greedy next token is right;
- MIA: the AUC (sklearn) of min-k% probability scores (k = 40%) between forget questions (members) and holdout ones
  (never trained on): 1 when the forget authors are recognizably memorized, 0.5 when not;
- model utility: the harmonic mean of retain Q&A probability, ROUGE and truth ratio (TOFU adds real-author and
  world-fact questions, which this scale has not);
- forget quality: the p-value of a KS test between the truth ratios of the model and of a model never finetuned on
  the forget authors, on the forget questions (`forget_quality`; it needs that model, so it is computed apart).
"""
from collections import OrderedDict
from functools import cached_property

import numpy as np
import torch

from .evaluate import answer_batch, next_token_logprobs, remembered

MIN_K = 0.4  # OpenUnlearning's mia_min_k


def answer_logprobs(logits, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(log-probability of each next token [..., N, T-1], mask of the answer's tokens [N, T-1]); logits
    [..., N, T, V], batch an answer_batch (answer_mask covers the answer and its end-of-text token)."""
    return next_token_logprobs(logits, batch["input_ids"]), batch["answer_mask"][:, 1:].float()


def qa_probability(logits, batch, per_token: bool = True) -> torch.Tensor:
    """[..., N]: exp(-mean NLL over each row's answer tokens), TOFU's; per_token=False: exp(-summed NLL), the
    probability of the whole answer."""
    token, mask = answer_logprobs(logits, batch)
    length = mask.sum(-1).clamp_min(1) if per_token else 1
    return torch.exp((token * mask).sum(-1) / length)


def truth_ratio(paraphrase_prob: torch.Tensor, perturbed_probs: torch.Tensor) -> torch.Tensor:
    """[N]: the geometric mean of the perturbed answers' probabilities [N, P] over the paraphrase's [N]."""
    wrong = torch.exp(torch.log(perturbed_probs).mean(-1))
    return wrong / (paraphrase_prob + 1e-10)


def closer_to_1(tr: torch.Tensor) -> torch.Tensor:
    """TOFU's forget aggregate, per item: min(tr, 1/tr)."""
    return torch.minimum(tr, 1 / (tr + 1e-10))


def true_better(tr: torch.Tensor) -> torch.Tensor:
    """TOFU's retain aggregate, per item: max(0, 1 - tr)."""
    return (1 - tr).clamp_min(0)


def extraction_strength(logits, batch) -> torch.Tensor:
    """[..., N]: 1 - k / n over each row's n answer tokens (the end-of-text token left out), k the first position
    from which the greedy next token is right at every later position."""
    predicted = logits[..., :-1, :].argmax(-1)
    target = batch["input_ids"][:, 1:]
    mask = batch["answer_mask"][:, 1:] & (target != batch["eos_token_id"])
    wrong = ((predicted != target) & mask).flip(-1).cumsum(-1).flip(-1) > 0  # a wrong token at or after t
    n = mask.sum(-1).clamp_min(1)
    k = (wrong & mask).sum(-1)  # answer positions before the last wrong one, counted from the answer's start
    return torch.where(mask.sum(-1) > 0, 1 - k / n, torch.zeros_like(k, dtype=torch.float))


def min_k_score(logits, batch, k: float = MIN_K) -> torch.Tensor:
    """[..., N]: minus the mean of the lowest max(1, int(k n)) log-probabilities of each row's n answer tokens
    (the end-of-text token left out); low for a memorized answer."""
    token, mask = answer_logprobs(logits, batch)
    mask = mask.bool() & (batch["input_ids"][:, 1:] != batch["eos_token_id"])
    out = []
    for i in range(mask.shape[0]):
        lp = token[..., i, :][..., mask[i]]
        m = max(1, int(k * lp.shape[-1]))
        out.append(-lp.sort(-1).values[..., :m].mean(-1))
    return torch.stack(out, -1)


def mia_auc(member_scores, nonmember_scores) -> float:
    """The AUC of telling members (low score) from non-members, as OpenUnlearning: roc_auc_score with members
    labelled 0 and non-members 1; 0.5 when the two cannot be told apart."""
    from sklearn.metrics import roc_auc_score
    labels = np.r_[np.zeros(len(member_scores)), np.ones(len(nonmember_scores))]
    return float(roc_auc_score(labels, np.r_[member_scores, nonmember_scores]))


def rouge_l_recall(generated: list[str], truth: list[str]) -> np.ndarray:
    """ROUGE-L recall of each generated answer against the true one (rouge_score, with stemming)."""
    from rouge_score import rouge_scorer
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return np.array([scorer.score(t, g)["rougeL"].recall for g, t in zip(generated, truth)])


def model_utility(values) -> float:
    """The harmonic mean of retain metrics (0 if any is 0)."""
    from scipy.stats import hmean
    values = np.asarray(values, dtype=float)
    return 0.0 if (values <= 0).any() else float(hmean(values))


def forget_quality(truth_ratios, reference_truth_ratios) -> float:
    """The p-value of a two-sample KS test between two models' truth ratios on the forget questions (high: the
    model's are distributed like those of a model that never saw the forget authors)."""
    from scipy.stats import ks_2samp
    return float(ks_2samp(truth_ratios, reference_truth_ratios).pvalue)


class TofuEvaluator:
    """Grades {"forget": facts, "retain": facts, "holdout": facts} (data.biographies.Fact) with TOFU's metrics; the
    interface of evaluate.Evaluator: model -> {metric: value}, "forget" and "retain" being the Q&A probabilities,
    with per-question scores in `items` when given. Holdout questions only feed the membership inference."""

    higher_is_better = True
    kind = "probability"
    MEMO_SIZE = 64
    PER_TOKEN = False  # probabilities of whole answers (module docstring)

    def __init__(self, sets: dict, tokenizer):
        self.sets, self.tokenizer, self._memo = dict(sets), tokenizer, OrderedDict()
        # an author's questions share an id (the claims' bootstrap draws them together, stats.py)
        self.clusters = {name: np.unique([f.author for f in facts], return_inverse=True)[1]
                         for name, facts in self.sets.items()}

    def only(self, *names) -> "TofuEvaluator":
        missing = set(names) - set(self.sets)
        if missing:
            raise ValueError(f"TofuEvaluator has no set(s) {sorted(missing)}; it has {sorted(self.sets)}")
        keep = set(names) | ({"holdout"} & set(self.sets) if "forget" in names else set())
        return TofuEvaluator({n: s for n, s in self.sets.items() if n in keep}, self.tokenizer)

    @cached_property
    def _batches(self) -> dict:
        """{set: {"answer": batch, "paraphrase": batch, "perturbed": [batch, ...]}}."""
        def batch(rows):
            b = answer_batch(rows, self.tokenizer)
            return {**b, "eos_token_id": self.tokenizer.eos_token_id}
        out = {}
        for name, facts in self.sets.items():
            out[name] = {"answer": batch([f.row() for f in facts]),
                         "paraphrase": batch([f.row(f.paraphrase) for f in facts]),
                         "perturbed": [batch([f.row(f.perturbed[j]) for f in facts])
                                       for j in range(len(facts[0].perturbed))]}
        return out

    def __call__(self, model, items: dict | None = None) -> dict:
        return remembered(self._memo, self.MEMO_SIZE, model, self._grade, items)

    @torch.no_grad()
    def _grade(self, model) -> tuple[dict, dict]:
        """({metric: mean}, {metric: per-item scores}) of one model, graded in eval mode."""
        was_training = model.training
        model.eval()
        try:
            return self._grade_eval(model)
        finally:
            model.train(was_training)

    def _grade_eval(self, model) -> tuple[dict, dict]:
        device = next(model.parameters()).device

        def logits(b):
            ids, mask = b["input_ids"].to(device), b["attention_mask"].to(device)
            return model(input_ids=ids, attention_mask=mask).logits.cpu()
        scores, outputs = {}, {}
        for name, b in self._batches.items():
            answer = logits(b["answer"])
            prob = qa_probability(answer, b["answer"], self.PER_TOKEN)
            outputs[name] = min_k_score(answer, b["answer"]).numpy()
            if name == "holdout":
                continue
            tr = truth_ratio(qa_probability(logits(b["paraphrase"]), b["paraphrase"], self.PER_TOKEN),
                             torch.stack([qa_probability(logits(p), p, self.PER_TOKEN) for p in b["perturbed"]], -1))
            scores[name] = prob.numpy()
            scores[f"{name}_rouge"] = rouge_l_recall(self.generate(model, self.sets[name]),
                                                     [f.answer for f in self.sets[name]])
            scores[f"{name}_truth_ratio"] = (closer_to_1(tr) if name == "forget" else true_better(tr)).numpy()
            if name == "forget":
                forget_tr = tr.numpy()  # forget quality's sample (per item only, no mean)
                scores["forget_extraction"] = extraction_strength(answer, b["answer"]).numpy()
        means = {k: float(v.mean()) for k, v in scores.items()}
        if "forget" in outputs and "holdout" in outputs:
            means["forget_mia_auc"] = mia_auc(outputs["forget"], outputs["holdout"])
        if "retain" in scores:
            means["model_utility"] = model_utility([means["retain"], means["retain_rouge"],
                                                    means["retain_truth_ratio"]])
        if "forget" in scores:
            scores = {**scores, "forget_truth_ratio_raw": forget_tr}
        return means, scores

    def generate(self, model, facts, batch_size: int = 64) -> list[str]:
        """The greedy answers to the facts' questions, decoded, up to the longest true answer plus 8 tokens."""
        tok, device = self.tokenizer, next(model.parameters()).device
        prompts = [[tok.bos_token_id, *tok(f.row()[0], add_special_tokens=False)["input_ids"]] for f in facts]
        longest = max(len(tok(f.row()[1], add_special_tokens=False)["input_ids"]) for f in facts)
        out = []
        for lo in range(0, len(prompts), batch_size):
            chunk = prompts[lo: lo + batch_size]
            width = max(map(len, chunk))
            ids = torch.tensor([[tok.pad_token_id] * (width - len(p)) + p for p in chunk], device=device)
            mask = (torch.arange(width, device=device) >= width - torch.tensor([len(p) for p in chunk],
                                                                                 device=device)[:, None]).long()
            gen = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=longest + 8, do_sample=False,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                                 use_cache=True)  # the models are built with use_cache off: 20x slower here
            out.extend(tok.decode(row[width:], skip_special_tokens=True).strip() for row in gen)
        return out
