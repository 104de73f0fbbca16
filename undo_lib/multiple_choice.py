"""Multiple-choice grading through lm-eval-harness (Section 6: WMDP as forget, MMLU as retain).

lm-eval scores each option of a question by the log-likelihood of its tokens after the question (and after the
few-shot examples, when the task has them) and counts the question right when the true option scores highest: the
`acc` of the WMDP and MMLU tasks. At scale `paper` the tasks are lm-eval's own `wmdp_bio`, `wmdp_cyber` (zero-shot)
and `mmlu` (5-shot, on 40% of each subject, Appendix D.2.1), whose data come from the hub. At the laptop scales a
`ChoiceTask` holds the questions itself: `write_task` turns it into a JSONL file and a YAML task config
(`dataset_path: json`, `output_type: multiple_choice`) that lm-eval runs offline.
"""
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

HUB_TASKS = {"wmdp_bio": 0, "wmdp_cyber": 0, "mmlu": 5}  # lm-eval task -> few-shot examples (Appendix D.2.1)
TASK_DATASETS = {"wmdp_bio": "cais/wmdp", "wmdp_cyber": "cais/wmdp", "mmlu": "cais/mmlu"}  # each task's dataset_path
MMLU_SHARE = 0.4  # "a subset of 40% of the full MMLU evaluation"


@dataclass(frozen=True)
class ChoiceTask:
    """A multiple-choice task over local rows. rows and fewshot_rows: ({"question": str, "choices": [str, ...],
    "answer": index of the true choice}, ...); each choice is scored as the continuation of the question."""
    name: str
    rows: tuple
    fewshot_rows: tuple = ()
    num_fewshot: int = 0
    fewshot_delimiter: str = "\n"  # between solved examples and before the question
    prefix: str = ""  # before everything (lm-eval's `description`), e.g. the tokenizer's "<bos>"

    def __post_init__(self):
        for r in self.rows + self.fewshot_rows:
            if not 0 <= r["answer"] < len(r["choices"]) or len(set(r["choices"])) != len(r["choices"]):
                raise ValueError(f"{self.name}: a row needs distinct choices and an answer among them, got {r}")
        if self.num_fewshot > len(self.fewshot_rows):
            raise ValueError(f"{self.name}: {self.num_fewshot}-shot needs as many few-shot rows, "
                             f"got {len(self.fewshot_rows)}")


def _jsonl(path: Path, rows) -> None:
    path.write_text("".join(json.dumps(dict(r)) + "\n" for r in rows))


def write_task(task: ChoiceTask, folder) -> Path:
    """Write `task` as lm-eval reads a local task: <name>.jsonl (+ <name>_fewshot.jsonl) and <name>.yaml."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _jsonl(folder / f"{task.name}.jsonl", task.rows)
    files = {"test": str(folder / f"{task.name}.jsonl")}
    lines = [f"task: {task.name}", "dataset_path: json", "dataset_kwargs:", "  data_files:",
             f"    test: {files['test']}"]
    if task.fewshot_rows:
        _jsonl(folder / f"{task.name}_fewshot.jsonl", task.fewshot_rows)
        lines.append(f"    fewshot: {folder / f'{task.name}_fewshot.jsonl'}")
        lines += ["fewshot_split: fewshot", "fewshot_config:", "  sampler: first_n"]
    lines += ["test_split: test", "output_type: multiple_choice", 'doc_to_text: "{{question}}"',
              'doc_to_choice: "{{choices}}"', "doc_to_target: answer", 'target_delimiter: ""',
              f"fewshot_delimiter: {json.dumps(task.fewshot_delimiter)}", f"num_fewshot: {task.num_fewshot}",
              f"description: {json.dumps(task.prefix)}",
              "metric_list:", "  - metric: acc",
              "    aggregation: mean", "    higher_is_better: true"]
    path = folder / f"{task.name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def context(task: ChoiceTask, question: str) -> str:
    """The text before an option, as lm-eval builds it: prefix, the first `num_fewshot` solved examples and the
    question, joined by the few-shot delimiter."""
    shots = [r["question"] + r["choices"][r["answer"]] for r in task.fewshot_rows[: task.num_fewshot]]
    return task.prefix + "".join(shot + task.fewshot_delimiter for shot in shots) + question


@dataclass(frozen=True)
class EncodedChoices:
    """A task's options as one padded batch: ids [R*C, W] (R rows, C options, each option after its context),
    option [R*C, W] (True where a token belongs to the option), answers [R] (index of the true option)."""
    ids: torch.Tensor
    option: torch.Tensor
    answers: torch.Tensor
    pad_id: int


def encode_choices(tokenizer, task: ChoiceTask) -> EncodedChoices:
    """Tokenize every (context, option) pair of `task` once, the context and the option apart (as lm-eval does),
    in two batched tokenizer calls."""
    if len({len(r["choices"]) for r in task.rows}) != 1:
        raise ValueError(f"{task.name}: the batched engine needs the same number of options in every row")
    contexts = tokenizer([context(task, r["question"]) for r in task.rows], add_special_tokens=False)["input_ids"]
    options = tokenizer([c for r in task.rows for c in r["choices"]], add_special_tokens=False)["input_ids"]
    n_options = len(task.rows[0]["choices"])
    seqs = [contexts[k // n_options] + opt for k, opt in enumerate(options)]
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), tokenizer.pad_token_id)
    option = torch.zeros((len(seqs), width), dtype=torch.bool)
    for k, seq in enumerate(seqs):
        ids[k, : len(seq)] = torch.tensor(seq)
        option[k, len(contexts[k // n_options]): len(seq)] = True
    answers = torch.tensor([r["answer"] for r in task.rows])
    return EncodedChoices(ids, option, answers, tokenizer.pad_token_id)


@torch.no_grad()
def picks_right(model, enc: EncodedChoices, chunk: int = 1024) -> torch.Tensor:
    """[R] 1/0: whether the option of highest log-likelihood (summed over its tokens, after `context`) is the
    answer, for every row of a task encoded by `encode_choices`, in batched forward passes: lm-eval's `acc`,
    computed in one go."""
    from .evaluate import next_token_logprobs
    from .models import forward
    device = next(model.parameters()).device
    scores = []
    for lo in range(0, len(enc.ids), chunk):
        x, m = enc.ids[lo: lo + chunk].to(device), enc.option[lo: lo + chunk].to(device)
        token = next_token_logprobs(forward(model, x, (x != enc.pad_id).long()).logits, x)
        scores.append((token * m[:, 1:]).sum(-1).cpu())
    scores = torch.cat(scores).view(len(enc.answers), -1)
    return (scores.argmax(-1) == enc.answers).float()


class ChoiceEvaluator:
    """Grades a model's accuracy on {metric: task} ("forget": WMDP or its stand-in, "retain": MMLU or its
    stand-in); the same interface as evaluate.Evaluator: model -> {metric: accuracy}, with each question's 1/0 in
    `items` when given. tasks: ChoiceTask, or the name of an lm-eval task (scale paper). engine "lm-eval" runs
    lm-eval-harness; "batched" computes the same picks (`picks_right`, tested equal question by question) in a
    few large forward passes (1.5-3x faster on 2 cores, measured on the cpu stand-in), for the many gradings of a
    relearning attack's curves. clusters: {metric: [N] ids}, questions on one fact sharing an id, as
    evaluate.Evaluator's."""

    higher_is_better = True
    kind = "accuracy"

    def __init__(self, tasks: dict, tokenizer, folder, batch_size: int = 64, limits: dict | None = None,
                 engine: str = "lm-eval", clusters: dict | None = None):
        if engine not in ("lm-eval", "batched"):
            raise ValueError(f"ChoiceEvaluator engine must be 'lm-eval' or 'batched', got {engine!r}")
        if engine == "batched" and not all(isinstance(t, ChoiceTask) for t in tasks.values()):
            raise ValueError("the batched engine grades local ChoiceTasks only; lm-eval's own tasks need 'lm-eval'")
        self.tasks, self.tokenizer, self.folder = dict(tasks), tokenizer, Path(folder)
        self.batch_size, self.limits, self.engine = batch_size, dict(limits or {}), engine
        self._task_dicts, self._encoded, self.clusters = {}, {}, dict(clusters or {})

    def only(self, *names) -> "ChoiceEvaluator":
        missing = set(names) - set(self.tasks)
        if missing:
            raise ValueError(f"ChoiceEvaluator has no task(s) {sorted(missing)}; it has {sorted(self.tasks)}")
        part = ChoiceEvaluator({n: self.tasks[n] for n in names}, self.tokenizer, self.folder, self.batch_size,
                               {n: v for n, v in self.limits.items() if n in names}, self.engine,
                               {n: c for n, c in self.clusters.items() if n in names})
        part._task_dicts, part._encoded = self._task_dicts, self._encoded  # shared: built once per metric
        return part

    def _task_dict(self, metric: str):
        """lm-eval's task object for one metric, built once (its data are read once)."""
        if metric not in self._task_dicts:
            from lm_eval.tasks import TaskManager, get_task_dict
            task = self.tasks[metric]
            if isinstance(task, ChoiceTask):
                write_task(task, self.folder)
                manager, name = TaskManager(include_path=str(self.folder), include_defaults=False), task.name
            else:  # check the hub first: lm-eval indexes its thousands of tasks (~30 s) before it finds it missing
                if task in TASK_DATASETS:
                    from .data.hub import require
                    require([(TASK_DATASETS[task], "dataset")], f"the lm-eval task {task!r}")
                manager, name = TaskManager(), task
            try:
                self._task_dicts[metric] = get_task_dict([name], manager)
            except Exception as err:  # noqa: BLE001 - a hub task without the hub fails in many ways
                raise RuntimeError(f"lm-eval could not load the task {name!r} ({type(err).__name__}: {err}). The "
                                   "WMDP and MMLU tasks download their data from the Hugging Face hub: scale "
                                   "'paper' needs network access; scales 'smoke' and 'cpu' use local stand-ins.") from err
            if not isinstance(task, ChoiceTask):
                for t in _leaves(self._task_dicts[metric]):
                    t.set_config(key="num_fewshot", value=HUB_TASKS.get(name, 0))
        return self._task_dicts[metric]

    @torch.no_grad()
    def __call__(self, model, items: dict | None = None) -> dict:
        was_training = model.training
        model.eval()
        out = {}
        for metric in self.tasks:
            right = self._right(model, metric)
            if not right:
                raise ValueError(f"lm-eval graded no question of {metric!r}")
            out[metric] = float(sum(right) / len(right))
            if items is not None:
                items[metric] = torch.tensor(right, dtype=torch.float32).numpy()
        model.train(was_training)
        return out

    def _right(self, model, metric: str) -> list:
        """Each graded question's 1/0, in the task's order."""
        if self.engine == "batched":  # the options are tokenized once per evaluator, not once per grading
            if metric not in self._encoded:
                self._encoded[metric] = encode_choices(self.tokenizer, self.tasks[metric])
            return picks_right(model, self._encoded[metric], self.batch_size * 16).tolist()
        import lm_eval.evaluator
        from lm_eval.models.huggingface import HFLM
        device = next(model.parameters()).device
        lm = HFLM(pretrained=model, tokenizer=self.tokenizer, batch_size=self.batch_size, device=str(device))
        res = lm_eval.evaluator.evaluate(lm, self._task_dict(metric), limit=self.limits.get(metric),
                                         bootstrap_iters=0, log_samples=True, verbosity="ERROR")
        return [s["acc"] for samples in res["samples"].values() for s in sorted(samples, key=_doc_id)]


def _doc_id(sample) -> int:
    return sample["doc_id"]


def _leaves(task_dict):
    """The Task objects of an lm-eval task dict (groups such as mmlu nest their subjects)."""
    for value in task_dict.values():
        if isinstance(value, dict):
            yield from _leaves(value)
        else:
            yield value


os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # lm-eval tokenizes in threads; quiet the fork warning
