"""The paper's settings: what is forgotten and kept, the data each draws on, how it is graded.

A `Setting` owns everything that differs between arithmetic and language: its token streams, the mixtures that
stages train on (Tables 2, 4 and 5), its evaluator and metric direction, the chance level, and the words that label
its plots. Nothing outside this module tests a setting by its name; code asks the setting instead.

    arithmetic: forget multiplication/division, keep addition/subtraction; graded by answer accuracy (higher is
                better).
    language:   forget Korean, keep English; graded by cross-entropy on held-out text (lower is better).
    wmdp:       Section 6's stand-in: arithmetic as multiple choice (higher is better).
    tofu:       Appendix F's post-training stand-in: fictional authors' questions, graded by TOFU's metrics.
"""
import math
import tempfile
from dataclasses import replace
from functools import cached_property

import numpy as np
import torch

from .data import arithmetic, biographies, choices, language
from .data.mixture import Mixture, TokenStream, documents_stream, parts_stream, problems_stream, text_stream
from .data.tokenizer import embedded_tokenizer, hub_tokenizer
from .evaluate import Evaluator, answer_batch

DATA_SEED = 42  # the paper's fixed seed for data sampling; the experiment seed varies initializations and batches


def _spread(items, n: int) -> tuple:
    """Every item, or n of them spread evenly (scale smoke's n_eval)."""
    return tuple(items) if len(items) <= n else tuple(items[i] for i in torch.linspace(0, len(items) - 1, n).long())


def _check_split(split: str) -> None:
    if split not in ("validation", "test"):
        raise ValueError(f"split must be 'validation' or 'test', got {split!r}")


# Whether a larger value of an evaluator's metric means more capability; the direction of every comparison.
HIGHER_IS_BETTER = {"accuracy": True, "probability": True, "cross_entropy": False}


class Setting:
    """One setting at one scale (its `Preset`): data streams, mixtures, evaluator, metric direction, labels."""

    name: str = ""
    metric: str = ""              # the evaluator's kind, a key of HIGHER_IS_BETTER
    forget_label: str = ""        # the forget capability, as plots name it
    panel_order: int = 0          # its place in the paper's combined figures (language's panels first)
    retain_label: str = ""

    def __init__(self, preset):
        if preset.setting != self.name:
            raise ValueError(f"preset of {preset.setting!r} given to the {self.name!r} setting")
        self.preset = preset

    def __repr__(self):
        return f"{type(self).__name__}(scale={self.preset.scale!r})"

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger metric means more capability (accuracy) rather than less (cross-entropy)."""
        return HIGHER_IS_BETTER[self.metric]

    @property
    def unit(self) -> str:
        return "accuracy" if self.higher_is_better else "cross-entropy"

    @cached_property
    def tokenizer(self):
        return embedded_tokenizer() if self.preset.data == "embedded" else hub_tokenizer()

    def text_stream(self, lang: str, split: str):
        """English or Korean text of a split ("train" or "validation") as one token stream."""
        p = self.preset
        if p.data == "embedded":
            return text_stream(lang, language.embedded_text(lang, split), self.tokenizer)
        n_docs = p.hub_docs if split == "train" else max(1, p.n_eval // 200)
        return documents_stream(lang, language.hub_documents(lang, split, n_docs), self.tokenizer)

    @cached_property
    def streams(self) -> dict:
        """{stream name: TokenStream} of the training data."""
        raise NotImplementedError

    def mixture_parts(self) -> dict:
        """{mixture name: [(stream, weight), ...]}: reference, oracle, attack and unlearn (forget stream first)."""
        raise NotImplementedError

    def mixture(self, name: str, seq_len: int | None = None) -> Mixture:
        """The named mixture in rows of `seq_len` tokens (default: the preset's)."""
        parts = self.mixture_parts()
        if name not in parts:
            raise ValueError(f"the {self.name} setting has no mixture {name!r}; it has {sorted(parts)}")
        streams = [(self.streams[s], w) for s, w in parts[name]]
        return Mixture(f"{self.name}/{name}", streams, seq_len or self.preset.seq_len)

    @cached_property
    def evaluator(self) -> Evaluator:
        """Grades the "retain" and "forget" test sets: what the claims (the attacks' curves) read."""
        return self.graded("test")

    @cached_property
    def validation(self) -> Evaluator:
        """Grades the "retain" and "forget" validation sets: what sweep choices and stop rules (every training
        stage's curves) read."""
        return self.graded("validation")

    def graded(self, split: str) -> Evaluator:
        """The evaluator of one split, "validation" or "test"."""
        raise NotImplementedError

    @property
    def chance(self) -> float:
        """The metric of a model that knows nothing."""
        raise NotImplementedError

    def attack_passes(self, attack) -> float:
        """How many times an attack (AttackCfg) passes over its forget training tokens (more than ~1: it overfits)."""
        parts = self.mixture_parts()["attack"]
        forget, weight = parts[0]
        share = weight / sum(w for _, w in parts)
        return attack.steps * attack.batch_size * share * self.preset.seq_len / len(self.streams[forget])


class Arithmetic(Setting):
    name, metric = "arithmetic", "accuracy"
    forget_label, retain_label = "mul/div", "add/sub"
    panel_order = 1

    def _problems(self, name: str, ops, split: str = "train"):
        p = self.preset
        problems = arithmetic.problems(ops, p.n_train_problems, split, p.word_problem_frac, DATA_SEED)
        return problems_stream(name, problems, self.tokenizer)

    @cached_property
    def streams(self) -> dict:
        """Pretraining and unlearning draw on every fact; the attack on the forget domain's attack facts only."""
        ops = arithmetic.RETAIN_OPS + arithmetic.FORGET_OPS
        return {"english": self.text_stream("english", "train"), "all_ops": self._problems("all_ops", ops),
                "add_sub": self._problems("add_sub", arithmetic.RETAIN_OPS),
                "mul_div": self._problems("mul_div", arithmetic.FORGET_OPS),
                "mul_div_attack": self._problems("mul_div_attack", arithmetic.FORGET_OPS, "attack")}

    def mixture_parts(self) -> dict:
        """The reference sees all operations and English (1:3 in the paper, english_share 0.75); the oracle the
        same share of add/sub with the mul/div share replaced by English (1:7 in the paper); the attack mul/div and
        English at the reference's ratio (mul/div of the attack facts only); unlearning mul/div and add/sub 1:1
        (Table 5)."""
        english = self.preset.english_share
        arith = 1 - english
        return {"reference": [("all_ops", arith), ("english", english)],
                "oracle": [("add_sub", arith / 2), ("english", english + arith / 2)],
                "attack": [("mul_div_attack", arith), ("english", english)],
                "unlearn": [("mul_div", 1), ("add_sub", 1)]}

    def graded(self, split: str) -> Evaluator:
        """Every problem of the split's facts once: add/sub (retain) and mul/div (forget); where that is more than
        the preset's n_eval (scale smoke), n_eval of them spread evenly. A fact's problems form a cluster."""
        _check_split(split)
        sets, clusters = {}, {}
        for name, ops in (("retain", arithmetic.RETAIN_OPS), ("forget", arithmetic.FORGET_OPS)):
            problems = arithmetic.graded_problems(ops, split, self.preset.word_problem_frac, DATA_SEED)
            sets[name] = answer_batch(list(_spread(problems, self.preset.n_eval)), self.tokenizer)
            clusters[name] = np.array(_spread(arithmetic.graded_facts(ops, split), self.preset.n_eval))
        return Evaluator("accuracy", sets, clusters)

    @property
    def chance(self) -> float:
        return 0.0


class Language(Setting):
    name, metric = "language", "cross_entropy"
    forget_label, retain_label = "Korean", "English"

    @cached_property
    def streams(self) -> dict:
        return {lang: self.text_stream(lang, "train") for lang in ("english", "korean")}

    def mixture_parts(self) -> dict:
        """English + Korean 1:1 (reference), English only (oracle), Korean only (attack), Korean/English 1:1
        (unlearning)."""
        return {"reference": [("english", 1), ("korean", 1)], "oracle": [("english", 1)],
                "attack": [("korean", 1)], "unlearn": [("korean", 1), ("english", 1)]}

    def held_out(self, lang: str) -> TokenStream:
        """The held-out (validation) part of every document as one stream, `starts` where each document's begins."""
        if self.preset.data == "embedded":
            parts = language.embedded_parts(lang, "validation")
            return parts_stream(lang, parts, self.tokenizer, language.SEPARATOR)
        stream = self.text_stream(lang, "validation")  # <bos> doc <eos> ...
        return replace(stream, starts=(stream.ids == self.tokenizer.bos_token_id).nonzero().squeeze(1))

    def graded(self, split: str) -> Evaluator:
        """The held-out text cut into windows of seq_len tokens (a last partial window is dropped: every graded
        window has as many tokens, so that the mean of its per-window scores is the domain's); graded: every window
        in which a document's held-out part begins, so that every document is graded, then windows spread evenly
        over the rest, up to n_eval tokens per domain and split (more where the documents need it). Validation and
        test take alternate windows, so their text never overlaps. Windows of one document are alike, so they form
        a cluster that the claims' bootstrap resamples whole: the document that holds a window's middle token.
        (A document whose held-out part begins in the dropped partial window is not graded: none at scales smoke
        and cpu, tested. With documents as short as a window, as FineWeb's at scale paper may be, nearly every
        window begins one and over n_eval tokens are graded.)"""
        _check_split(split)
        p, sets, clusters = self.preset, {}, {}
        for name, lang in (("retain", "english"), ("forget", "korean")):
            stream = self.held_out(lang)
            n = len(stream.ids) // p.seq_len
            if n < 2:
                raise ValueError(f"{lang}: {len(stream.ids)} held-out tokens, under two windows of {p.seq_len}")
            windows = stream.ids[: n * p.seq_len].view(n, p.seq_len)
            covered = {w for w in (stream.starts // p.seq_len).tolist() if w < n}
            covering = sorted(covered)
            rows = max(1, min(p.n_eval // p.seq_len, n // 2), -(-len(covering) // 2))
            rest = [w for w in range(n) if w not in covered]
            k = min(len(rest), max(0, 2 * rows - len(covering)))
            picked = sorted(covering + [rest[i] for i in torch.linspace(0, len(rest) - 1, k).round().long()])
            mine = torch.tensor(picked[0::2] if split == "validation" else picked[1::2])
            graded = windows[mine]
            sets[name] = {"input_ids": graded, "attention_mask": torch.ones_like(graded)}
            middle = mine * p.seq_len + p.seq_len // 2  # a window's cluster: the document of its middle token
            clusters[name] = (torch.searchsorted(stream.starts, middle, right=True) - 1).clamp_min(0).numpy()
        return Evaluator("cross_entropy", sets, clusters)

    @property
    def chance(self) -> float:
        """The cross-entropy log V of a uniform guess."""
        return math.log(len(self.tokenizer))


class WmdpStandIn(Arithmetic):
    """Section 6's offline stand-in (scales smoke and cpu): arithmetic as multiple choice. The forget grade (WMDP's
    place) asks the split's mul/div equations, the retain grade (MMLU's) its add/sub ones, four options each, scored
    as lm-eval scores a multiple-choice task (multiple_choice.ChoiceEvaluator; zero-shot, see data/choices.py).
    Relearning data come in Table 12's three formats (wmdp.DATASETS): equations, question-answer pairs, and
    English text with question-answer pairs; the "pretrained model" is the arithmetic reference."""
    name = "wmdp"
    forget_label, retain_label = "mul/div questions", "add/sub questions"
    panel_order = 0  # its own figures (8, 11), lettered from (a)

    @cached_property
    def streams(self) -> dict:
        """The arithmetic streams, plus question-answer forms of the forget attack facts and of the retain facts."""
        p, out = self.preset, dict(super().streams)
        for name, ops, split in (("forget_qa", arithmetic.FORGET_OPS, "attack"),
                                 ("retain_qa", arithmetic.RETAIN_OPS, "train")):
            out[name] = problems_stream(name, choices.qa_problems(ops, p.n_train_problems, split, DATA_SEED),
                                        self.tokenizer)
        return out

    def mixture_parts(self) -> dict:
        """The arithmetic mixtures, plus one per relearning dataset of Table 12 (wmdp.DATASETS): "forget/retain"
        (mul/div of the attack facts and add/sub equations, 1:1), "forget/retain-qa" (the same as questions and
        answers) and "wiki-qa" (English text, forget and retain questions, 2:1:1)."""
        from .wmdp import DATASET_NAMES, DATASETS
        streams = {"forget": "mul_div_attack", "retain": "add_sub", "forget_qa": "forget_qa",
                   "retain_qa": "retain_qa", "wiki": "english"}
        return {**super().mixture_parts(),
                **{DATASET_NAMES[k]: [(streams[part], w) for part, w in parts] for k, parts in DATASETS.items()}}

    def graded(self, split: str) -> "ChoiceEvaluator":
        from .multiple_choice import ChoiceEvaluator, ChoiceTask
        _check_split(split)
        bos, n = self.tokenizer.bos_token, self.preset.n_eval
        tasks, clusters = {}, {}
        for metric, ops in (("retain", arithmetic.RETAIN_OPS), ("forget", arithmetic.FORGET_OPS)):
            rows = _spread(choices.questions(ops, split, DATA_SEED), n)  # every question, or n_eval (smoke)
            tasks[metric] = ChoiceTask(f"standin_{metric}_{split}", rows, prefix=bos)
            clusters[metric] = np.array(_spread(arithmetic.graded_facts(ops, split), n))  # a question's fact
        return ChoiceEvaluator(tasks, self.tokenizer, tempfile.mkdtemp(prefix="undo-choice-"), engine="batched",
                               clusters=clusters)

    @property
    def chance(self) -> float:
        """One of four options at random."""
        return 0.25


class PostTraining(Language):
    """Appendix F's post-training setting at scales smoke and cpu: the language reference is the pretrained base;
    it is finetuned on fictional authors' question-answer pairs (data.biographies, TOFU-style), then the forget
    authors are unlearned and the model distilled back into the base. Graded by TOFU's metrics (tofu.TofuEvaluator)
    on the forget, retain and holdout authors' graded facts; "forget" and "retain" are Q&A probabilities."""
    name, metric = "tofu", "probability"
    forget_label, retain_label = "forget authors", "retain authors"
    panel_order = 0  # its own figures (12, 13), lettered from (a)
    SHARES = {"forget": 0.2, "holdout": 0.2}  # of the authors; the rest are retain authors (TOFU: 10/10/80)

    @property
    def unit(self) -> str:
        return "Q&A probability"

    def facts(self, group: str, part: str) -> list:
        return biographies.facts(self.preset.n_authors, group, part, DATA_SEED, self.SHARES)

    @cached_property
    def streams(self) -> dict:
        """Finetuning reads every fact of the forget and retain authors; the attack the forget authors' attack facts."""
        def qa(name, facts):
            return problems_stream(name, [f.row() for f in facts], self.tokenizer)
        forget, retain = self.facts("forget", "all"), self.facts("retain", "all")
        attack = self.facts("forget", "attack")
        return {"finetune": qa("finetune", forget + retain), "forget_qa": qa("forget_qa", forget),
                "retain_qa": qa("retain_qa", retain), "forget_attack": qa("forget_attack", attack)}

    def mixture_parts(self) -> dict:
        """Finetuning on every author (the "reference" mix, also what the unlearned model is distilled on: "the
        full TOFU dataset"), the retain authors alone (the oracle: a model never finetuned on the forget authors,
        forget quality's reference), the forget authors' attack facts (the attack), forget and retain 1:1 (GradDiff)."""
        return {"reference": [("finetune", 1)], "oracle": [("retain_qa", 1)], "attack": [("forget_attack", 1)],
                "unlearn": [("forget_qa", 1), ("retain_qa", 1)]}

    def graded(self, split: str):
        from .tofu import TofuEvaluator
        _check_split(split)
        return TofuEvaluator({g: self.facts(g, split) for g in biographies.GROUPS}, self.tokenizer)

    @property
    def chance(self) -> float:
        return 0.0


SETTINGS = {cls.name: cls for cls in (Arithmetic, Language, WmdpStandIn, PostTraining)}


def make_setting(preset) -> Setting:
    """The Setting of a preset (scales.preset(scale, name))."""
    if preset.setting not in SETTINGS:
        raise ValueError(f"unknown setting {preset.setting!r}; choose from {sorted(SETTINGS)}")
    return SETTINGS[preset.setting](preset)
