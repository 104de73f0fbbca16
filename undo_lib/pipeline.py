"""Cached stages the notebooks call: pretrain, distill, unlearn, relearn.

An `Experiment` is one (scale, setting, seed). Each stage is described by a plain config (what to train from what,
on which mixture, with which objective and hyperparameters); the config's hash names its artifact in the store, so
re-running a notebook reuses every finished stage, and a killed stage resumes from its checkpoint. At scales whose
preset asks for several processes, a stage runs under `accelerate launch -m undo_lib.launch <config.json>`.
"""
import math
import os
import subprocess
import sys
from dataclasses import asdict, replace
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from . import parallel, repo_path
from .attack import relearn_attack
from .data import arithmetic, language
from .data.mixture import Mixture, documents_stream, problems_stream, stable_seed, text_stream
from .data.tokenizer import embedded_tokenizer, hub_tokenizer
from .evaluate import Evaluator, answer_batch, best_tradeoff, tradeoff_scores
from .models import MODEL_PRESETS, build_model
from .noise import shrink_perturb
from .objectives import BASELINES, UNLEARNING, make_objective
from .scales import UNLEARN_PARAMS, preset, rmu_layers
from .results import final_metrics, load_results, save_results, stage_curves, sweep_curves  # noqa: F401 (re-exported)
from .store import Artifact, Store
from .train import TrainCfg, train

DATA_SEED = 42  # the paper's fixed seed for data sampling; the experiment seed varies initializations and batches
TEACHER_OUTPUTS_BYTES = 2**30  # a stage's teacher outputs are kept for the next student only up to this size


def mixtures(setting: str, english_share: float = 0.75) -> dict:
    """Which streams each mixture draws from, and in which ratio of rows (Table 2, Table 4).

    Arithmetic: the reference sees all operations and English (1:3 in the paper, english_share 0.75); the oracle
    sees the same share of add/sub with the mul/div share replaced by English (1:7 in the paper); the attack sees
    mul/div and English at the reference's ratio. Language: English + Korean 1:1, English only, Korean only.
    Unlearning (Table 5) draws forget rows (listed first) and retain rows 1:1: Korean/English, mul-div/add-sub."""
    if setting == "language":
        return {"reference": [("english", 1), ("korean", 1)], "oracle": [("english", 1)], "attack": [("korean", 1)],
                "unlearn": [("korean", 1), ("english", 1)]}
    arith = 1 - english_share
    return {"reference": [("all_ops", arith), ("english", english_share)],
            "oracle": [("add_sub", arith / 2), ("english", english_share + arith / 2)],
            "attack": [("mul_div", arith), ("english", english_share)],
            "unlearn": [("mul_div", 1), ("add_sub", 1)]}


def default_store(scale: str) -> Path:
    root = os.environ.get("UNDO_STORE")
    return Path(root) / scale if root else repo_path("store", scale)


class Experiment:
    """One setting at one scale and seed: its data, evaluator and cached stages."""

    def __init__(self, scale: str, setting: str, seed: int = 0, store_root=None):
        self.preset = preset(scale, setting)
        self.scale, self.setting, self.seed = scale, setting, int(seed)
        self.store = Store(store_root or default_store(scale))
        self._shared_teacher = (None, None)  # (what a stage's teacher saw, its outputs): see teacher_outputs

    def __repr__(self):
        return f"Experiment(scale={self.scale!r}, setting={self.setting!r}, seed={self.seed})"

    # ---- data -------------------------------------------------------------------------------------------------
    @cached_property
    def tokenizer(self):
        return embedded_tokenizer() if self.preset.data == "embedded" else hub_tokenizer()

    def _text_stream(self, lang: str, split: str):
        if self.preset.data == "embedded":
            return text_stream(lang, language.embedded_text(lang, split), self.tokenizer)
        n_docs = self.preset.hub_docs if split == "train" else max(1, self.preset.n_eval // 200)
        return documents_stream(lang, language.hub_documents(lang, split, n_docs), self.tokenizer)

    def _problem_stream(self, name: str, ops):
        p = self.preset
        return problems_stream(name, arithmetic.problems(ops, p.n_train_problems, "train", p.word_problem_frac,
                                                         DATA_SEED), self.tokenizer)

    @cached_property
    def streams(self) -> dict:
        if self.setting == "language":
            return {lang: self._text_stream(lang, "train") for lang in ("english", "korean")}
        ops = arithmetic.RETAIN_OPS + arithmetic.FORGET_OPS
        return {"english": self._text_stream("english", "train"), "all_ops": self._problem_stream("all_ops", ops),
                "add_sub": self._problem_stream("add_sub", arithmetic.RETAIN_OPS),
                "mul_div": self._problem_stream("mul_div", arithmetic.FORGET_OPS)}

    def mixture(self, name: str) -> Mixture:
        parts = [(self.streams[s], w) for s, w in self.mixture_parts[name]]
        return Mixture(f"{self.setting}/{name}", parts, self.preset.seq_len)

    @property
    def mixture_parts(self) -> dict:
        return mixtures(self.setting, self.preset.english_share)

    @cached_property
    def evaluator(self) -> Evaluator:
        p = self.preset
        if self.setting == "arithmetic":
            return Evaluator("accuracy", {
                name: answer_batch(arithmetic.problems(ops, p.n_eval, "eval", p.word_problem_frac, DATA_SEED),
                                   self.tokenizer)
                for name, ops in (("retain", arithmetic.RETAIN_OPS), ("forget", arithmetic.FORGET_OPS))})
        sets = {}
        for name, lang in (("retain", "english"), ("forget", "korean")):
            ids = self._text_stream(lang, "validation").ids
            rows = max(1, min(p.n_eval, len(ids)) // p.seq_len)
            chunk = ids[: rows * p.seq_len].view(rows, p.seq_len)
            sets[name] = {"input_ids": chunk, "attention_mask": torch.ones_like(chunk)}
        return Evaluator("cross_entropy", sets)

    @property
    def higher_is_better(self) -> bool:
        return self.setting == "arithmetic"

    # ---- stages -----------------------------------------------------------------------------------------------
    def _base(self) -> dict:
        p = self.preset
        return {"scale": self.scale, "setting": self.setting, "seed": self.seed, "data": p.data,
                "model": asdict(MODEL_PRESETS[p.model]), "seq_len": p.seq_len, "n_eval": p.n_eval,
                "n_train_problems": p.n_train_problems, "word_problem_frac": p.word_problem_frac,
                "hub_docs": p.hub_docs, "english_share": p.english_share, "vocab_size": len(self.tokenizer)}

    def _stage(self, kind: str, objective: str, mixture: str, cfg: TrainCfg, init, teacher=None, tag="") -> dict:
        init_spec = (init.key if isinstance(init, Artifact) else init if isinstance(init, dict)
                     else {"random": stable_seed("init", tag, self.seed) % 2**31})
        return {"kind": kind, "base": self._base(), "objective": objective, "mixture": self.mixture(mixture).describe(),
                "mixture_name": mixture, "train": asdict(cfg), "init": init_spec,
                "teacher": teacher.key if teacher is not None else None}

    def pretrain(self, which: str = "reference") -> Artifact:
        """The reference (retain + forget data) or the oracle (retain data only: perfect data filtering)."""
        return self.run_stage(self.pretrain_config(which))

    def pretrain_config(self, which: str = "reference") -> dict:
        """The stage config of `pretrain`."""
        if which not in ("reference", "oracle"):
            raise ValueError(f"pretrain(which=...) must be 'reference' or 'oracle', got {which!r}")
        return self._stage("pretrain", "cross_entropy", which, self.preset.pretrain, "random", tag=f"pretrain-{which}")

    def distill(self, teacher: Artifact, init="random", cfg: TrainCfg | None = None) -> Artifact:
        """Forward-KL distillation of `teacher` on the pretraining mix into `init` (an Artifact) or a fresh model,
        with the preset's oracle-matching settings unless `cfg` is given.

        A fresh student gets its own seed, derived from the teacher's key: never the teacher's initial weights."""
        return self.run_stage(self.distill_config(teacher, init, cfg))

    def distill_config(self, teacher: Artifact, init="random", cfg: TrainCfg | None = None) -> dict:
        """The stage config of `distill`."""
        return self._stage("distill", "forward_kl", "reference", cfg or self.preset.distill, init, teacher=teacher,
                           tag=f"student-of-{teacher.key}")

    def unlearn_and_distill(self, teacher: Artifact) -> Artifact:
        """Unlearn-and-Distill (Section 4): the unlearned `teacher` distilled into a fresh random init (Table 6)."""
        return self.distill(teacher, "random", self.preset.distill_after_unlearning)

    def undo(self, teacher: Artifact, alpha: float, beta: float = 0.1, noise_seed: int = 0,
             tolerance: float = 0.05, eval_every: int | None = None) -> Artifact:
        """UNDO (Section 5): shrink-and-perturb the unlearned `teacher` (noise.shrink_perturb), then distill the
        teacher into the damaged copy until its retain performance is within `tolerance` of the teacher's
        (relative cross-entropy, or absolute accuracy points) or the cap of the reference's pretraining steps is
        reached. The steps used (the last logged step) are UNDO's compute. Only retain is graded while it distills."""
        return self.run_stage(self.undo_config(teacher, alpha, beta, noise_seed, tolerance, eval_every))

    def undo_config(self, teacher: Artifact, alpha: float, beta: float = 0.1, noise_seed: int = 0,
                    tolerance: float = 0.05, eval_every: int | None = None) -> dict:
        """The stage config of `undo`."""
        teacher_retain = float(final_metrics({"t": teacher}).loc["t", "retain"])
        base = self.preset.distill_after_unlearning
        cfg = replace(base, steps=self.preset.pretrain.steps, eval_every=eval_every or base.eval_every)
        init = {"noised": teacher.key, "alpha": float(alpha), "beta": float(beta), "seed": int(noise_seed)}
        config = self._stage("undo", "forward_kl", "reference", cfg, init, teacher=teacher)
        config["stop"] = {"metric": "retain", "teacher": teacher_retain, "tolerance": tolerance,
                          "higher_is_better": self.higher_is_better}
        return config

    @property
    def data_filtering_steps(self) -> float:
        """Data filtering's compute (pretraining the oracle) in UNDO distillation steps: the unit of Fig 5's
        x-axis, S_UNDO / S_DataFiltering, counted in rows seen (the two may use different batch sizes)."""
        p = self.preset
        return p.pretrain.steps * p.pretrain.rows_per_step / p.distill_after_unlearning.rows_per_step

    def undo_sweep(self, teacher: Artifact) -> dict:
        """{(alpha, beta): Artifact}: UNDO at every point of the preset's UndoCfg, noise seeded by the experiment."""
        u, points = self.preset.undo, self.preset.undo.points()
        configs = [self.undo_config(teacher, a, b, self.seed, u.tolerance, u.eval_every) for a, b in points]
        return dict(zip(points, self.run_stages(configs, "UNDO students")))

    def relearn_undo(self, students: dict, unlearned: Artifact, oracle: Artifact) -> pd.DataFrame:
        """`relearn` for {(alpha, beta): Artifact} plus the Unlearn and Data Filtering baselines; tidy
        (model, alpha, beta, lr, step, metric, value) with alpha/beta empty for the baselines."""
        labels = {f"UNDO alpha={a:g} beta={b:g}": (a, b) for a, b in students}
        curves = self.relearn({**{k: students[ab] for k, ab in labels.items()}, "Unlearn": unlearned,
                               "Data Filtering": oracle})
        curves["alpha"] = curves.model.map(lambda m: labels.get(m, (None, None))[0])
        curves["beta"] = curves.model.map(lambda m: labels.get(m, (None, None))[1])
        return curves

    def chosen_unlearned(self, method: str, **kw) -> Artifact:
        """The method's unlearned model at the sweep's best trade-off (`choose`), as notebook 02 picked it."""
        sweep = self.unlearn_sweep(method, **kw)
        return sweep[self.choose(sweep)]

    def method_comparison(self, rmu_retain: bool = True) -> dict:
        """Section 6's models, {method: {point label: Artifact}}, at the preset's CompareCfg points: GradDiff, MaxEnt
        and RMU from their cached sweeps; SAM, RepNoise and UNDIAL from the reference at MaxEnt's chosen rate (or
        multiples of it, for UNDIAL); UNDO from MaxEnt's chosen model at one alpha and beta, one point per retain
        threshold. Each is trained once and cached; notebook 02's and 03's runs are reused."""
        c = self.preset.compare
        out, chosen = {}, {}
        for method in UNLEARNING:
            sweep = self.unlearn_sweep(method, **({"rmu_retain": rmu_retain} if method == "rmu" else {}))
            lrs, best = sorted(sweep), self.choose(sweep)
            chosen[method] = best, sweep[best]
            near = sorted(lrs, key=lambda lr: (abs(lrs.index(lr) - lrs.index(best)), lr))[: c.sweep_points or len(lrs)]
            out[method] = {f"lr={lr:g}": sweep[lr] for lr in sorted(near)}
        lr, teacher = chosen["max_ent"]  # MaxEnt's chosen rate (SAM's, RepNoise's) and model (UNDO's start)
        eval_every = self.preset.undo.eval_every if self.preset.undo else None
        configs = {
            "sam": {f"rho={rho:g}": self.unlearn_config("sam", lr, rho=rho) for rho in c.sam_rhos},
            "rep_noise": {f"alpha={a:g} beta={b:g}": self.unlearn_config("rep_noise", lr, alpha=a, beta=b)
                          for a, b in c.rep_noise},
            "undial": {f"lr={lr * k:g}": self.unlearn_config("undial", lr * k) for k in c.undial_lr_factors},
            "undo": {f"threshold={t:g}": self.undo_config(teacher, c.undo_alpha, c.undo_beta, self.seed, t, eval_every)
                     for t in c.undo_tolerances}}
        trained = iter(self.run_stages([cfg for points in configs.values() for cfg in points.values()],
                                       "Section 6's baselines and UNDO"))
        return {**out, **{method: {label: next(trained) for label in points} for method, points in configs.items()}}

    def unlearn(self, method: str, lr: float, model: Artifact | None = None, rmu_retain: bool = True,
                **overrides) -> Artifact:
        """Unlearn `model` (default: the reference) at a constant learning rate `lr` with GradDiff, MaxEnt, RMU or
        a robust baseline of Section 6: SAM (MaxEnt with sharpness-aware steps of radius `rho`), RepNoise, UNDIAL.

        Hyperparameters from Table 5 (scales.UNLEARN_PARAMS), replaced by `overrides` (e.g. rho=0.02); RMU trains
        only the MLP down-projections of its layers, with its retain term on unless rmu_retain=False (the authors'
        setting for these experiments). The baselines run MaxEnt's number of steps and batch size."""
        return self.run_stage(self.unlearn_config(method, lr, model, rmu_retain, **overrides))

    def unlearn_config(self, method: str, lr: float, model: Artifact | None = None, rmu_retain: bool = True,
                       **overrides) -> dict:
        """The stage config of `unlearn`."""
        if method not in UNLEARNING + BASELINES:
            raise ValueError(f"unlearning method must be one of {UNLEARNING + BASELINES}, got {method!r}")
        model = model or self.pretrain("reference")
        params, trainable, teacher = {**UNLEARN_PARAMS[self.setting][method], **overrides}, None, None
        sam_rho = params.pop("rho") if method == "sam" else None
        if method == "rmu":
            cfg_model = MODEL_PRESETS[self.preset.model]
            first, end = rmu_layers(cfg_model.num_hidden_layers)
            params.update(layer=end, retain=bool(rmu_retain), hidden_size=cfg_model.hidden_size,
                          seed=stable_seed("rmu-direction", self.seed) % 2**31)
            trainable = [f"model.layers.{i}.mlp.down_proj.weight" for i in range(first, end + 1)]
            teacher = model if rmu_retain else None
        if method == "undial":
            teacher = model
        steps = self.preset.unlearn[method if method in UNLEARNING else "max_ent"]
        config = self._stage("unlearn", "max_ent" if method == "sam" else method, "unlearn", steps.train_cfg(lr),
                             model, teacher=teacher)
        if sam_rho is not None:
            config["sam_rho"] = float(sam_rho)
        config.update(objective_params=params, trainable=trainable)
        return config

    def unlearn_sweep(self, method: str, **kw) -> dict:
        """{lr: Artifact} over the method's learning-rate sweep (Appendix B.1); `kw` as for `unlearn`."""
        lrs = self.preset.unlearn[method].lrs
        return dict(zip(lrs, self.run_stages([self.unlearn_config(method, lr, **kw) for lr in lrs], f"{method} sweep")))

    @property
    def chance(self) -> float:
        """The metric of a model that knows nothing: 0 accuracy, or the cross-entropy log V of a uniform guess."""
        return 0.0 if self.setting == "arithmetic" else math.log(len(self.tokenizer))

    def choose(self, sweep: dict) -> float:
        """The learning rate of a sweep {lr: Artifact} with the best retain/forget trade-off (evaluate.best_tradeoff)."""
        return best_tradeoff(sweep_curves(sweep), self.chance)

    def sweep_scores(self, sweeps: dict) -> pd.DataFrame:
        """For {method: {lr: Artifact}}: each run's initial and final retain/forget, its trade-off score, and
        whether it is the chosen one."""
        frames = []
        for method, sweep in sweeps.items():
            t = tradeoff_scores(sweep_curves(sweep), self.chance).reset_index()
            frames.append(t.assign(method=method, chosen=np.isclose(t.lr, self.choose(sweep))))
        return pd.concat(frames, ignore_index=True).set_index(["method", "lr"])

    def run_stages(self, configs: list, desc: str = "stages") -> list:
        """`run_stage` for each of several independent configs; those not yet stored side by side (parallel.run)."""
        parallel.run([self._stage_call(c) for c in configs if not self.store.find(c["kind"], c)], desc)
        return [self.run_stage(c) for c in configs]

    def _stage_call(self, config: dict) -> parallel.Call:
        """run_stage(config) as a parallel.Call, its cost the tokens it trains on (a teacher's forward adding a
        third, SAM's second pass doubling it, and UNDO's cap scaled by alpha: noisier students recover later)."""
        t = config["train"]
        cost = t["steps"] * t["batch_size"] * t["grad_accum"] * self.preset.seq_len
        cost *= (4 / 3 if config["teacher"] else 1) * (2 if config.get("sam_rho") else 1)
        cost *= 0.5 + config["init"]["alpha"] if config["kind"] == "undo" else 1
        return parallel.Call(self, "run_stage", (config,), str(self.store.folder(config["kind"], config)), cost)

    def run_stage(self, config: dict) -> Artifact | None:
        """Train the stage `config` describes, or return it from the store. While parallel.side_by_side gathers,
        register it and return None."""
        found = self.store.find(config["kind"], config)
        if found:
            return found
        if parallel.gathering():
            parallel.run([self._stage_call(config)])
            return None
        if self.preset.num_processes > 1 and int(os.environ.get("WORLD_SIZE", "1")) == 1:
            return self._launch(config)
        path = self.store.begin(config["kind"], config)
        stage = self.stage_inputs(config)
        from accelerate import Accelerator
        acc = Accelerator()
        stop = config.get("stop")  # UNDO's stop rule needs only its own metric graded
        metrics = train(stage.model, stage.objective, stage.batches, stage.cfg, teacher=stage.teacher,
                        checkpoint=path / "checkpoint.pt",
                        evaluate=self.evaluator.only(stop["metric"]) if stop else self.evaluator,
                        stop=recovered(stop) if stop else None, sam_rho=stage.sam_rho,
                        teacher_outputs=self.teacher_outputs(config, stage.objective, stage.cfg),
                        desc=f"{config['kind']} {self._describe(config)} ({self.setting})", accelerator=acc)
        if acc.is_main_process:
            self.store.finish(config["kind"], config, model=stage.model, metrics=metrics)
        acc.wait_for_everyone()
        return self.store.find(config["kind"], config)

    def stage_inputs(self, config: dict) -> SimpleNamespace:
        """What `train` needs for the stage `config`: model (its initialization), teacher (or None), objective,
        cfg (TrainCfg), batches (step -> batch) and sam_rho. The models it starts from must be in the store."""
        init = config["init"]
        if isinstance(init, str):
            model = self.store.by_key(init).model()
        elif "noised" in init:
            model = shrink_perturb(self.store.by_key(init["noised"]).model(), init["alpha"], init["beta"], init["seed"])
        else:
            model = build_model(MODEL_PRESETS[self.preset.model], len(self.tokenizer), init["random"], self.tokenizer)
        teacher = self.store.by_key(config["teacher"]).model() if config["teacher"] else None
        objective = make_objective(config["objective"], **config.get("objective_params", {}))
        if (objective.teacher is not None) != (teacher is not None):
            raise ValueError(f"objective {config['objective']!r} and teacher {config['teacher']!r} do not fit")
        if config.get("trainable"):
            model.requires_grad_(False)
            for name in config["trainable"]:
                model.get_parameter(name).requires_grad_(True)
        cfg, mixture = TrainCfg(**config["train"]), self.mixture(config["mixture_name"])
        data_seed = stable_seed(config["kind"], self.seed)
        forget_rows = objective.name in UNLEARNING + BASELINES

        def batches(step):
            batch = mixture.batch(step, cfg.rows_per_step, data_seed)
            if forget_rows:
                batch["forget"] = batch["source"] == 0  # unlearning mixtures list the forget stream first
            return batch
        return SimpleNamespace(model=model, teacher=teacher, objective=objective, cfg=cfg, batches=batches,
                               sam_rho=config.get("sam_rho", 0.0))

    def teacher_outputs(self, config: dict, objective, cfg: TrainCfg) -> dict | None:
        """The teacher outputs (train's `teacher_outputs`) a stage shares with the stages before it in this process
        that had the same teacher and batches: UNDO's students, one after another in a worker, run the teacher once
        per batch. One teacher is kept at a time; None when the objective reads no teacher logits or the outputs of
        every step would pass TEACHER_OUTPUTS_BYTES (e.g. at scale gpu)."""
        size = cfg.steps * cfg.rows_per_step * self.preset.seq_len * MODEL_PRESETS[self.preset.model].hidden_size * 4
        if objective.teacher != "logits" or size > TEACHER_OUTPUTS_BYTES:
            return None
        seen = (config["teacher"], config["kind"], config["mixture_name"], cfg.batch_size, cfg.grad_accum)
        if self._shared_teacher[0] != seen:
            self._shared_teacher = (seen, {})
        return self._shared_teacher[1]

    @staticmethod
    def _describe(config: dict) -> str:
        if config["kind"] == "pretrain":
            return config["mixture_name"]
        if config["kind"] == "undo":
            return f"alpha={config['init']['alpha']:g} beta={config['init']['beta']:g}"
        if config["kind"] == "unlearn":
            sam = f" sam rho={config['sam_rho']:g}" if config.get("sam_rho") else ""
            return f"{config['objective']}{sam} lr={config['train']['lr']:g}"
        return "into a random init" if isinstance(config["init"], dict) else f"into {config['init'][:8]}"

    def _launch(self, config: dict) -> Artifact:
        path = self.store.begin(config["kind"], config)
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(self.preset.num_processes),
               *([] if torch.cuda.is_available() else ["--cpu"]),
               "-m", "undo_lib.launch", "--config", str(path / "config.json"), "--store", str(self.store.root)]
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            for line in proc.stdout:  # relay to the notebook, whose sys.stdout is no file
                print(line, end="")
        if proc.returncode:
            raise RuntimeError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}")
        return self.store.find(config["kind"], config)

    def relearn(self, models: dict, batched: bool | None = None, desc: str = "", forget_only: bool = True
                ) -> pd.DataFrame:
        """Relearning attack on every {label: Artifact}; tidy (model, lr, step, metric, value), cached per model.
        Models not yet attacked are attacked side by side (parallel.run) when there are several.

        forget_only (default): grade retain at step 0 only and forget throughout, half the grading; every figure
        reads only forget during the attack. False grades both throughout, as the paper's Table 4 runs did. An
        attack stored with both metrics throughout serves a forget_only request too."""
        self._attack_missing(models, batched, desc, forget_only)
        frames = [] if parallel.gathering() else [
            self.store.find("relearn", self._attack_config(a, forget_only)).metrics.assign(model=label)
            for label, a in models.items()]
        return pd.concat(frames or [pd.DataFrame(columns=["model", "lr", "step", "metric", "value"])],
                         ignore_index=True)[["model", "lr", "step", "metric", "value"]]

    def _attack(self, label: str, artifact: Artifact, config: dict, batched, desc: str):
        """Attack one model and store its curves under `config` (its `_attack_config`; see `relearn`)."""
        cfg, mixture = self.preset.attack, self.mixture("attack")
        data_seed = stable_seed("relearn", self.seed)
        self.store.begin("relearn", config)
        later = self.evaluator.only(*config["graded_after_start"]) if "graded_after_start" in config else None
        curves = relearn_attack({f"{desc}{label}": artifact.model()},
                                lambda s: mixture.batch(s, cfg.batch_size, data_seed), self.evaluator, cfg,
                                batched=batched, later=later)
        self.store.finish("relearn", config, metrics=curves.drop(columns="model"))

    def _attack_config(self, artifact: Artifact, forget_only: bool) -> dict:
        """The config of the stored attack on `artifact` that serves the request, or of the one to run."""
        config = {"kind": "relearn", "base": self._base(), "target": artifact.key, "attack": asdict(self.preset.attack),
                  "mixture": self.mixture("attack").describe()}
        if forget_only and not self.store.find("relearn", config):
            config["graded_after_start"] = ["forget"]  # a different artifact from the fully graded attack
        return config

    def _attack_missing(self, models: dict, batched, desc: str, forget_only: bool):
        """Attack, side by side (parallel.run), the models of {label: Artifact} that have no stored attack."""
        a = self.preset.attack
        cost = a.steps * len(a.lrs) * a.batch_size * self.preset.seq_len
        calls = []
        for label, artifact in models.items():
            config = self._attack_config(artifact, forget_only)
            if not self.store.find("relearn", config):
                calls.append(parallel.Call(self, "_attack", (label, artifact, config, batched, desc),
                                           str(self.store.folder("relearn", config)), cost))
        parallel.run(calls, f"{desc}attacks")

    def relearn_by_method(self, models: dict, batched: bool | None = None, forget_only: bool = True) -> pd.DataFrame:
        """`relearn` for {method: {label: Artifact}}; tidy (method, model, lr, step, metric, value). A model shared
        by several methods (the oracle) is attacked once and reused from the store."""
        self._attack_missing({f"{k} {label}": a for k, m in models.items() for label, a in m.items()}, batched, "",
                             forget_only)
        return pd.concat([self.relearn(m, batched, f"{k} ", forget_only).assign(method=k) for k, m in models.items()],
                         ignore_index=True)[
            ["method", "model", "lr", "step", "metric", "value"]]

    def attack_passes(self) -> float:
        """How many times the attack passes over its forget training tokens (more than ~1 means it overfits)."""
        cfg, parts = self.preset.attack, self.mixture_parts["attack"]
        forget, share = parts[0][0], parts[0][1] / sum(w for _, w in parts)
        return cfg.steps * cfg.batch_size * share * self.preset.seq_len / len(self.streams[forget])


def recovered(spec: dict):
    """The stop rule of distill-until-recovered: metrics -> whether `spec["metric"]` is within `spec["tolerance"]`
    of the teacher's (absolute points when higher is better, i.e. accuracy; relative for cross-entropy)."""
    def done(metrics: dict) -> bool:
        value, target, tol = metrics[spec["metric"]], spec["teacher"], spec["tolerance"]
        return value >= target - tol if spec["higher_is_better"] else value <= target * (1 + tol)
    return done
