"""The paper's recipes: which stages each experiment needs, trained once and cached.

An `Experiment` is one (scale, setting, seed) with its store. Its recipes describe stages as `StageSpec`s (pretrain,
distill, unlearn, UNDO) and attacks as `AttackSpec`s (stages.py); `train(specs)` trains what the store lacks
(runner.run, with execute.work as the worker) and returns the stored artifacts in the same shape. The verbs
(`pretrain`, `distill`, `unlearn_sweep`, `undo_sweep`, `method_comparison`, `relearn`, ...) do both in one call.
`side_by_side(experiments, recipe)` trains the specs of several settings in one batch, so that a notebook cell's
work for arithmetic and language shares the worker pool.
"""
import math
from dataclasses import asdict, replace

import pandas as pd

from . import runner
from .data.mixture import stable_seed
from .choice import choose, frontier_points, run_scores, sweep_scores
from .execute import setting_of, work
from .methods import METHODS, RETAIN_WEIGHT, group, method
from .models import MODEL_PRESETS
from .results import attack_curves, final_metrics, undo_curves, undo_label
from .attack import AttackCfg
from .scales import check_params, preset
from .stages import AttackSpec, From, Noised, Random, Recovered, StageSpec
from .store import Artifact, Store, default_store


def _leaves(tree, path=()) -> list:
    """[(path of labels, spec)] of a spec, or of a (nested) dict of specs."""
    if isinstance(tree, dict):
        return [leaf for k, v in tree.items() for leaf in _leaves(v, (*path, str(k)))]
    return [(path, tree)]


class Experiment:
    """One setting at one scale and seed: its Setting (data, evaluator), its recipes and its store."""

    def __init__(self, scale: str, setting: str, seed: int = 0, store_root=None):
        check_params(scale, seed, setting)
        self.preset = preset(scale, setting)
        self.scale, self.seed = scale, int(seed)
        self.setting = setting_of(scale, setting)
        self.store = Store(store_root or default_store(scale))

    def __repr__(self):
        return f"Experiment(scale={self.scale!r}, setting={self.setting.name!r}, seed={self.seed})"

    # ---- what the notebooks read off the setting ----------------------------------------------------------------
    @property
    def higher_is_better(self) -> bool:
        return self.setting.higher_is_better

    @property
    def chance(self) -> float:
        return self.setting.chance

    @property
    def evaluator(self):
        return self.setting.evaluator

    @property
    def tokenizer(self):
        return self.setting.tokenizer

    def attack_passes(self) -> float:
        """How many times the attack passes over its forget training tokens (more than ~1 means it overfits)."""
        return self.setting.attack_passes(self.preset.attack)

    # ---- training what the store lacks --------------------------------------------------------------------------
    def train(self, specs, desc: str = "stages"):
        """The stored artifacts of a spec or a (nested) dict of specs, in the same shape; what the store lacks is
        trained first (runner.run)."""
        side_by_side({"": self}, lambda s, e: specs, desc)
        return self.found(specs)

    def found(self, specs):
        """The stored artifact of each spec, in the same shape; raises naming the first one not stored."""
        if isinstance(specs, dict):
            return {k: self.found(v) for k, v in specs.items()}
        artifact = self.store.find(specs.kind, specs.config())
        if artifact is None:
            raise FileNotFoundError(f"{specs.describe()} is not in the store {self.store.root}")
        return artifact

    def job(self, spec, label: str = "") -> runner.Job:
        """The runner's job for one spec; `label` (e.g. "GradDiff Unlearn") names it in progress bars and errors."""
        folder = self.store.folder(spec.kind, spec.config())
        return runner.Job((self.scale, self.setting.name, self.seed, str(self.store.root)), spec, str(folder),
                          f"{label or spec.describe()} ({self.setting.name}, {folder.name})",
                          spec.cost(self.preset.seq_len))

    def missing(self, specs) -> list:
        """Jobs for the specs of `specs` (a spec or a nested dict of them) that the store lacks."""
        return [self.job(s, " ".join(path)) for path, s in _leaves(specs) if not self.store.find(s.kind, s.config())]

    # ---- stage specs --------------------------------------------------------------------------------------------
    @property
    def base(self) -> dict:
        """What every stage of this experiment shares: scale, setting, seed, model shape and data."""
        p = self.preset
        return {"scale": self.scale, "setting": self.setting.name, "seed": self.seed, "data": p.data,
                "model": asdict(MODEL_PRESETS[p.model]), "seq_len": p.seq_len, "n_eval": p.n_eval,
                "n_train_problems": p.n_train_problems, "word_problem_frac": p.word_problem_frac,
                "hub_docs": p.hub_docs, "english_share": p.english_share, "vocab_size": len(self.tokenizer)}

    def _spec(self, kind: str, objective: str, mixture: str, cfg, init, **kw) -> StageSpec:
        return StageSpec(kind=kind, base=self.base, objective=objective, mixture=mixture,
                         mixture_spec=self.setting.mixture(mixture).describe(), train=cfg, init=init, **kw)

    def _random(self, tag: str) -> Random:
        return Random(stable_seed("init", tag, self.seed) % 2**31)

    def pretrain_spec(self, which: str = "reference") -> StageSpec:
        """The reference (retain + forget data) or the oracle (retain data only: perfect data filtering)."""
        if which not in ("reference", "oracle"):
            raise ValueError(f"pretrain(which=...) must be 'reference' or 'oracle', got {which!r}")
        cfg = self.preset.pretrain if which == "reference" else self.preset.oracle_pretrain
        return self._spec("pretrain", "cross_entropy", which, cfg, self._random(f"pretrain-{which}"))

    def finetune_spec(self, base: Artifact, which: str = "reference") -> StageSpec:
        """Appendix F: the pretrained `base` finetuned on the setting's "reference" mix (every author) or its
        "oracle" mix (the retain authors only), with the preset's `pretrain` settings."""
        if which not in ("reference", "oracle"):
            raise ValueError(f"finetune(which=...) must be 'reference' or 'oracle', got {which!r}")
        return self._spec("pretrain", "cross_entropy", which, self.preset.pretrain, From(base))

    def finetune(self, base: Artifact, which: str = "reference") -> Artifact:
        return self.train(self.finetune_spec(base, which))

    def distill_spec(self, teacher: Artifact, init="random", cfg=None) -> StageSpec:
        """Forward-KL distillation of `teacher` on the pretraining mix into `init` (an Artifact, or "random": a
        fresh model seeded from the teacher's key, never the teacher's initial weights), with the preset's
        oracle-matching settings unless `cfg` is given."""
        if isinstance(init, str) and init != "random":
            raise ValueError(f"distill(init=...) must be a stored Artifact or 'random', got {init!r}")
        start = self._random(f"student-of-{teacher.key}") if init == "random" else From(init)
        return self._spec("distill", "forward_kl", "reference", cfg or self.preset.distill, start, teacher=teacher)

    def unlearn_and_distill_spec(self, teacher: Artifact) -> StageSpec:
        """Unlearn-and-Distill (Section 4): the unlearned `teacher` distilled into a fresh random init (Table 6)."""
        return self.distill_spec(teacher, "random", self.preset.distill_after_unlearning)

    def undo_spec(self, teacher: Artifact, alpha: float, beta: float = 0.1, noise_seed: int = 0,
                  tolerance: float = 0.05, eval_every: int | None = None, fixed_budget: bool = False) -> StageSpec:
        """UNDO (Section 5): shrink-and-perturb the unlearned `teacher` (noise.shrink_perturb), then distill the
        teacher into the damaged copy until its retain performance is within `tolerance` of the teacher's
        (stages.Recovered, relative) or it has seen one full epoch of the pretraining rows (Section 5). The steps
        used (the last logged step) are UNDO's compute. Only retain is graded while it distills. fixed_budget:
        distill for the whole cap without the stop rule (Table 13's "retrained" value)."""
        if eval_every is not None and eval_every < 1:
            raise ValueError(f"undo(eval_every=...) must be >= 1, got {eval_every!r}")
        stop = Recovered("retain", float(final_metrics({"t": teacher}).loc["t", "retain"]), tolerance,
                         self.higher_is_better)
        base = self.preset.distill_after_unlearning
        cfg = replace(base, steps=math.ceil(self.undo_cap_steps), eval_every=eval_every or base.eval_every)
        return self._spec("undo", "forward_kl", "reference", cfg, Noised(teacher, alpha, beta, noise_seed),
                          teacher=teacher, stop=None if fixed_budget else stop)

    def unlearn_spec(self, name: str, lr: float, model: Artifact | None = None, **overrides) -> StageSpec:
        """Unlearning with a registered method (methods.METHODS) at learning rate `lr` from `model` (default: the
        reference), its hyperparameters from the registry, replaced by `overrides` (e.g. rho=0.02, retain=False)."""
        m = method(name)
        model = model or self.pretrain("reference")
        params, trainable = m.hyperparameters(self.setting.name, MODEL_PRESETS[self.preset.model], self.seed,
                                              **overrides)
        sam_rho = params.pop("rho") if m.sam else None
        steps = self.preset.unlearn[m.budget]
        return self._spec("unlearn", m.loss, "unlearn", steps.train_cfg(lr), From(model),
                          teacher=model if m.teacher(params) else None, objective_params=params,
                          trainable=tuple(trainable) if trainable else None, sam_rho=sam_rho,
                          restore_norms=m.restore_norms)

    def section6_sweep_specs(self, name: str, model: Artifact) -> dict:
        """Section 6's sweep of a "section6" method from `model` (Appendix D.2.3): {(a, lr): StageSpec} over
        wmdp.STAND_IN_AS and the method's rates, the retain weight a / (1 - a) times the method's own."""
        from .wmdp import STAND_IN_AS
        m = method(name)
        if m.group != "section6":
            raise ValueError(f"section6_sweep_specs runs Section 6's methods {group('section6')}, not {name!r}")
        return {(a, lr): self._section6_spec(name, a, lr, model)
                for a in STAND_IN_AS for lr in m.sweep(self.scale, self.setting.name)}

    def section6_baseline_specs(self, max_ent_picks: pd.DataFrame, model: Artifact) -> dict:
        """SAM and RepNoise as Section 6 runs them (Appendix D.2.6, group "section6_baseline"): from `model`, at the
        top two of MaxEnt's points (section6_picks, best retain first); {method: {"a=.. lr=..": StageSpec}}."""
        top = list(max_ent_picks.index[:2])
        return {name: {f"a={a:g} lr={lr:g}": self._section6_spec(name, a, lr, model) for a, lr in top}
                for name in group("section6_baseline")}

    def _section6_spec(self, name: str, a: float, lr: float, model: Artifact) -> StageSpec:
        """A Section 6 method at (a, lr): the loss's retain term (methods.RETAIN_WEIGHT) weighted a / (1 - a) times
        the method's own weight."""
        from .wmdp import retain_weight
        m = method(name)
        key = RETAIN_WEIGHT[m.loss]
        return self.unlearn_spec(name, lr, model, **{key: m.params[self.setting.name][key] * retain_weight(a)})

    def section6_picks(self, sweep: dict) -> pd.DataFrame:
        """Table 10's three points of a trained Section 6 sweep {(a, lr): Artifact}: choice.frontier_points on the
        validation split, best retain first (the first teaches UNDO)."""
        return frontier_points(run_scores(sweep), self.chance, removed=self.preset.frontier_removed)

    def unlearn_sweep_specs(self, name: str, **overrides) -> dict:
        """{lr: StageSpec} over the method's learning-rate sweep (Appendix B.1)."""
        return {lr: self.unlearn_spec(name, lr, **overrides) for lr in method(name).sweep(self.scale, self.setting.name)}

    def undo_sweep_specs(self, teacher: Artifact) -> dict:
        """{(alpha, beta): StageSpec}: UNDO at every point of the preset's UndoCfg, noise seeded by the experiment."""
        u = self.preset.undo
        return {(a, b): self.undo_spec(teacher, a, b, self.seed, u.tolerance, u.eval_every) for a, b in u.points()}

    def comparison_specs(self, overrides: dict | None = None) -> dict:
        """Section 6's models, {method: {point label: StageSpec}}, at the preset's CompareCfg points. Swept
        methods: every rate of their (trained, cached) sweep, or the CompareCfg's sweep_points rates nearest the
        chosen one when it sets them; baselines: their grid at MaxEnt's chosen rate; UNDO: from MaxEnt's chosen
        model at one alpha and beta, one point per retain threshold, plus notebook 03's student at the strongest
        alpha that recovered (strongest_recovered_alpha) when it is another. overrides: {method: hyperparameters} for the swept methods (e.g. {"rmu": {"retain": False}})."""
        c, out, chosen, overrides = self.preset.compare, {}, {}, overrides or {}
        for name in group("unlearning", "extra"):
            specs = self.unlearn_sweep_specs(name, **overrides.get(name, {}))
            sweep = self.train(specs, f"{name} sweep")
            lrs, best = sorted(sweep), self.choose(sweep)
            chosen[name] = best, sweep[best]
            near = sorted(lrs, key=lambda lr: (abs(lrs.index(lr) - lrs.index(best)), lr))[: c.sweep_points or len(lrs)]
            out[name] = {f"lr={lr:g}": specs[lr] for lr in sorted(near)}
        lr, teacher = chosen["max_ent"]  # MaxEnt's chosen rate (the baselines') and model (UNDO's start)
        for name in group("baseline"):
            grid = METHODS[name].comparison(c, lr)
            out[name] = {label: self.unlearn_spec(name, rate, **kw) for label, (rate, kw) in grid.items()}
        eval_every = self.preset.undo.eval_every if self.preset.undo else None
        out["undo"] = {f"alpha={c.undo_alpha:g} threshold={t:g}": self.undo_spec(
            teacher, c.undo_alpha, c.undo_beta, self.seed, t, eval_every) for t in c.undo_tolerances}
        strongest = self.strongest_recovered_alpha(teacher)
        if strongest is not None and (strongest, c.undo_beta) != (c.undo_alpha, c.undo_beta):
            u = self.preset.undo
            out["undo"][f"alpha={strongest:g} threshold={u.tolerance:g}"] = self.undo_spec(
                teacher, strongest, u.beta, self.seed, u.tolerance, u.eval_every)
        return out

    def strongest_recovered_alpha(self, teacher: Artifact) -> float | None:
        """The largest alpha of notebook 03's sweep (at its beta) whose UNDO student from `teacher` met the stop
        rule, or None. Section 5 finds robustness growing with alpha, so this is the most robust student the
        budget allows; the choice reads only the validation split (the stop rule's), never an attack's test
        scores. Trains the sweep's students the store lacks."""
        u = self.preset.undo
        if u is None:
            return None
        specs = {a: self.undo_spec(teacher, a, u.beta, self.seed, u.tolerance, u.eval_every) for a in u.alphas}
        recovered = self.undo_recovered(self.train(specs, "UNDO students"))
        return max((a for a, ok in recovered.items() if ok), default=None)

    # ---- the verbs: describe and train --------------------------------------------------------------------------
    def pretrain(self, which: str = "reference") -> Artifact:
        return self.train(self.pretrain_spec(which))

    def distill(self, teacher: Artifact, init="random", cfg=None) -> Artifact:
        return self.train(self.distill_spec(teacher, init, cfg))

    def unlearn_and_distill(self, teacher: Artifact) -> Artifact:
        return self.train(self.unlearn_and_distill_spec(teacher))

    def undo(self, teacher: Artifact, alpha: float, beta: float = 0.1, noise_seed: int = 0,
             tolerance: float = 0.05, eval_every: int | None = None, fixed_budget: bool = False) -> Artifact:
        return self.train(self.undo_spec(teacher, alpha, beta, noise_seed, tolerance, eval_every, fixed_budget))

    def unlearn(self, name: str, lr: float, model: Artifact | None = None, **overrides) -> Artifact:
        return self.train(self.unlearn_spec(name, lr, model, **overrides))

    def unlearn_sweep(self, name: str, **overrides) -> dict:
        return self.train(self.unlearn_sweep_specs(name, **overrides), f"{name} sweep")

    def undo_sweep(self, teacher: Artifact) -> dict:
        return self.train(self.undo_sweep_specs(teacher), "UNDO students")

    def method_comparison(self, overrides: dict | None = None) -> dict:
        return self.train(self.comparison_specs(overrides), "comparison")

    @staticmethod
    def undo_steps(students: dict) -> dict:
        """{point: distillation steps used} of UNDO students {point: Artifact} (their compute)."""
        return {k: int(a.metrics.step.max()) for k, a in students.items()}

    @staticmethod
    def undo_recovered(students: dict) -> dict:
        """{point: whether the student met its stop rule} of UNDO students; False: it stopped at the cap."""
        out = {}
        for k, a in students.items():
            m = a.metrics
            last = m[(m.metric == "retain") & (m.step == m[m.metric == "retain"].step.max())]["value"].item()
            out[k] = bool(Recovered(**a.config["stop"])({"retain": last}))
        return out

    @property
    def data_filtering_steps(self) -> float:
        """Data filtering's compute (pretraining the oracle) in UNDO distillation steps: the unit of Fig 5's
        x-axis, S_UNDO / S_DataFiltering, counted in rows seen (the two may use different batch sizes)."""
        return self._in_distillation_steps(self.preset.oracle_pretrain)

    @property
    def undo_cap_steps(self) -> float:
        """UNDO's cap, one full epoch of the pretraining rows (Section 5), in its distillation steps."""
        return self._in_distillation_steps(self.preset.pretrain)

    def _in_distillation_steps(self, cfg) -> float:
        """The rows `cfg` trains on, in steps of UNDO's distillation."""
        return cfg.steps * cfg.rows_per_step / self.preset.distill_after_unlearning.rows_per_step

    # ---- the relearning attack ----------------------------------------------------------------------------------
    def attack_specs(self, models, forget_only: bool = True, mixture: dict | None = None,
                     shrink_perturb: tuple | None = None, attack: AttackCfg | None = None):
        """An AttackSpec per Artifact of `models` (an Artifact or a nested dict of them), in the same shape.

        forget_only (default): grade retain at step 0 only and forget throughout, half the grading; every figure
        reads only forget during the attack. False grades both throughout, as the paper's Table 4 runs did. An
        attack stored with both metrics throughout serves a forget_only request too. mixture (a Mixture's
        description; default the setting's "attack"), shrink_perturb and attack (an AttackCfg; default the
        preset's): an adversary's (adversary_specs)."""
        if isinstance(models, dict):
            return {k: self.attack_specs(v, forget_only, mixture, shrink_perturb, attack) for k, v in models.items()}
        full = AttackSpec(base=self.base, target=models, attack=attack or self.preset.attack,
                          mixture_spec=mixture or self.setting.mixture("attack").describe(),
                          shrink_perturb=shrink_perturb)
        if forget_only and not self.store.find("relearn", full.config()):
            return replace(full, graded_after_start=("forget",))
        return full

    def adversary_specs(self, models, adversaries=None, forget_only: bool = True) -> dict:
        """Section 6's adversaries (wmdp.ADVERSARIES, Table 12, or those given): {adversary name: attack_specs of
        `models`}, each on its dataset's mixture in rows that hold whole question-answer items (wmdp.STAND_IN_ROW),
        4x longer for a "long" one, the model shrunk first
        (alpha 0.05) for an "sp-" one. The setting must have Table 12's mixtures (the WMDP stand-in does).
        Every adversary's step reads as many tokens as the preset's attack (wmdp.adversary_batch): longer rows,
        fewer of them (the paper gives no batch size for these attacks)."""
        from .wmdp import (ADVERSARIES, DATASET_NAMES, LONG_FACTOR, SHRINK_PERTURB_ALPHA, SHRINK_PERTURB_BETA,
                           STAND_IN_ROW, adversary_batch)
        out, standard, attack = {}, max(self.preset.seq_len, STAND_IN_ROW), self.preset.attack
        for adversary in adversaries or ADVERSARIES:
            seq_len = standard * (LONG_FACTOR if adversary.long else 1)
            mixture = self.setting.mixture(DATASET_NAMES[adversary.dataset], seq_len).describe()
            damage = (SHRINK_PERTURB_ALPHA, SHRINK_PERTURB_BETA, self.seed) if adversary.shrink_perturb else None
            cfg = replace(attack, batch_size=adversary_batch(attack.batch_size, self.preset.seq_len, seq_len))
            out[adversary.name] = self.attack_specs(models, forget_only, mixture, damage, cfg)
        return out

    def relearn(self, models: dict, forget_only: bool = True) -> pd.DataFrame:
        """Relearning attack on every {label: Artifact}, or {method: {label: Artifact}}; tidy (model, lr, step,
        metric, value), with a `method` column first for the nested form. Each attack is cached per model."""
        return attack_curves(self.train(self.attack_specs(models, forget_only), "attacks"))

    def relearn_undo(self, students: dict, unlearned: Artifact, oracle: Artifact) -> pd.DataFrame:
        """`relearn` for {(alpha, beta): Artifact} plus the Unlearn and Data Filtering baselines; tidy
        (model, alpha, beta, lr, step, metric, value) with alpha/beta empty for the baselines."""
        return undo_curves(self.train(self.undo_attack_specs(students, unlearned, oracle), "attacks"))

    def undo_attack_specs(self, students: dict, unlearned: Artifact, oracle: Artifact) -> dict:
        labels = {undo_label(a, b): students[(a, b)] for a, b in students}
        return self.attack_specs({**labels, "Unlearn": unlearned, "Data Filtering": oracle})

    # ---- choosing among a sweep's runs (choice.py) -------------------------------------------------------------
    def choose(self, sweep: dict) -> float:
        """The learning rate of a sweep {lr: Artifact} with the best retain/forget trade-off (choice.choose)."""
        return choose(sweep, self.chance)

    def chosen_unlearned(self, name: str, **overrides) -> Artifact:
        """The method's unlearned model at the sweep's best trade-off, as notebook 02 picked it."""
        sweep = self.unlearn_sweep(name, **overrides)
        return sweep[self.choose(sweep)]

    def sweep_scores(self, sweeps: dict) -> pd.DataFrame:
        """choice.sweep_scores at this setting's chance level."""
        return sweep_scores(sweeps, self.chance)


def side_by_side(experiments: dict, recipe, desc: str = "stages") -> dict:
    """{setting: the stored artifacts of recipe(setting, experiment)} for each of `experiments`: recipe returns a
    spec or a (nested) dict of specs, whatever the store lacks of all of them is trained in one batch
    (runner.run), and each spec is replaced by its artifact."""
    specs = {s: recipe(s, e) for s, e in experiments.items()}
    jobs = [job for s, e in experiments.items() for job in e.missing(specs[s])]
    launched = any(e.preset.num_processes > 1 for e in experiments.values())  # each job is its own launch
    runner.run(jobs, work, desc, in_order=launched)
    return {s: e.found(specs[s]) for s, e in experiments.items()}
