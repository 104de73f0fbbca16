"""What a stage is: a frozen description of everything that determines its result, whose hash is its store key.

A `StageSpec` trains a model (pretraining, distillation, unlearning, UNDO); an `AttackSpec` attacks a stored model
(the relearning attack). A stage starts from a typed initialization:

    Random(seed)                           fresh weights
    From(artifact)                         a stored model's weights
    Noised(artifact, alpha, beta, seed)    a stored model, shrunk and perturbed (noise.shrink_perturb)

and may stop early by a typed rule, `Recovered` (UNDO's distill-until-recovered). A parent that is not a stored
artifact (None, a path, a dict) raises at once, so no stage ever trains from a silent default. `config()` is the
JSON the store hashes and writes beside the model; `key` is that hash.
"""
from dataclasses import asdict, dataclass

from .attack import AttackCfg
from .store import Artifact, config_key
from .train import TrainCfg


class MissingParent(ValueError):
    """A stage was described from something that is not a finished, stored artifact."""


def _artifact(parent, role: str) -> Artifact:
    if not isinstance(parent, Artifact):
        raise MissingParent(f"a stage's {role} must be a stored Artifact, got {parent!r}")
    return parent


@dataclass(frozen=True)
class Random:
    """Fresh weights drawn from `seed`."""
    seed: int

    def config(self):
        return {"random": int(self.seed)}


@dataclass(frozen=True)
class From:
    """The weights of a stored model."""
    artifact: Artifact

    def __post_init__(self):
        _artifact(self.artifact, "init")

    def config(self):
        return self.artifact.key


@dataclass(frozen=True)
class Noised:
    """A stored model shrunk by alpha and perturbed by noise of scale beta (Section 5; noise.shrink_perturb)."""
    artifact: Artifact
    alpha: float
    beta: float
    seed: int

    def __post_init__(self):
        _artifact(self.artifact, "init")
        if not 0 <= self.alpha <= 1 or self.beta < 0:
            raise ValueError(f"shrink-perturb needs 0 <= alpha <= 1 and beta >= 0, got alpha={self.alpha!r}, "
                             f"beta={self.beta!r}")

    def config(self):
        return {"noised": self.artifact.key, "alpha": float(self.alpha), "beta": float(self.beta),
                "seed": int(self.seed)}


@dataclass(frozen=True)
class Recovered:
    """Stop once `metric` is within `tolerance` of the teacher's value `teacher`, relatively (Section 5: "at least
    95% of the teacher model's performance on the retain set", tolerance 0.05): at least (1 - tolerance) x the
    teacher's accuracy, or at most (1 + tolerance) x its cross-entropy."""
    metric: str
    teacher: float
    tolerance: float
    higher_is_better: bool

    def __post_init__(self):
        if not self.tolerance >= 0:
            raise ValueError(f"the stop rule's tolerance must be >= 0, got {self.tolerance!r}")

    @property
    def bar(self) -> float:
        """The value to reach: (1 - tolerance) x the teacher's accuracy, (1 + tolerance) x its cross-entropy."""
        return self.teacher * (1 - self.tolerance if self.higher_is_better else 1 + self.tolerance)

    def __call__(self, metrics: dict) -> bool:
        value = metrics[self.metric]
        return bool(value >= self.bar if self.higher_is_better else value <= self.bar)

    def config(self):
        return {"metric": self.metric, "teacher": float(self.teacher), "tolerance": self.tolerance,
                "higher_is_better": self.higher_is_better}


KINDS = ("pretrain", "distill", "unlearn", "undo")
SCALE_FREE = "mlp.down_proj.weight"  # feeds post_feedforward_layernorm


@dataclass(frozen=True, kw_only=True)
class StageSpec:
    """A training stage.

    base: the experiment's description (scale, setting, seed, model shape, data; `Experiment.base`);
    objective: a loss of objectives.LOSSES; objective_params: its hyperparameters (unlearning stages only, with
    `trainable`: the names of the trained parameters, or None for all); mixture: the setting's mixture name and
    mixture_spec its description; teacher: the frozen model the loss reads; sam_rho: sharpness-aware steps;
    restore_norms: scale each trained matrix back to its norm at the start once training ends (only MLP down
    projections, which Gemma-2's post-feed-forward RMSNorm makes scale-free: the model computes the same function)."""
    kind: str
    base: dict
    objective: str
    mixture: str
    mixture_spec: dict
    train: TrainCfg
    init: Random | From | Noised
    teacher: Artifact | None = None
    objective_params: dict | None = None
    trainable: tuple | None = None
    sam_rho: float | None = None
    stop: Recovered | None = None
    restore_norms: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"stage kind must be one of {KINDS}, got {self.kind!r}")
        if self.restore_norms and not (self.trainable and all(n.endswith(SCALE_FREE) for n in self.trainable)):
            raise ValueError(f"restore_norms rescales only {SCALE_FREE} weights, which an RMSNorm follows; "
                             f"this stage trains {self.trainable or 'every parameter'}")
        if not isinstance(self.init, (Random, From, Noised)):
            raise MissingParent(f"a stage's init must be Random, From or Noised, got {self.init!r}")
        if self.teacher is not None:
            _artifact(self.teacher, "teacher")

    def config(self) -> dict:
        """The stored config.json; its hash is the key."""
        config = {"kind": self.kind, "base": self.base, "objective": self.objective, "mixture": self.mixture_spec,
                  "mixture_name": self.mixture, "train": asdict(self.train), "init": self.init.config(),
                  "teacher": self.teacher.key if self.teacher is not None else None}
        if self.stop is not None:
            config["stop"] = self.stop.config()
        if self.sam_rho is not None:
            config["sam_rho"] = float(self.sam_rho)
        if self.restore_norms:  # absent otherwise: the keys of every other stage stay as they were
            config["restore_norms"] = True
        if self.objective_params is not None:
            config.update(objective_params=self.objective_params,
                          trainable=list(self.trainable) if self.trainable else None)
        return config

    @property
    def key(self) -> str:
        return config_key(self.config())

    def __hash__(self):  # its dict fields are not hashable; the key is what identifies a stage
        return hash(self.key)

    @classmethod
    def from_config(cls, config: dict, store) -> "StageSpec":
        """The spec a stored config.json describes, its parents looked up in `store` (for `undo_lib.launch`)."""
        init = config["init"]
        if isinstance(init, str):
            start = From(store.by_key(init))
        elif "noised" in init:
            start = Noised(store.by_key(init["noised"]), init["alpha"], init["beta"], init["seed"])
        else:
            start = Random(init["random"])
        stop = config.get("stop")
        spec = cls(kind=config["kind"], base=config["base"], objective=config["objective"],
                   mixture=config["mixture_name"], mixture_spec=config["mixture"], train=TrainCfg(**config["train"]),
                   init=start, teacher=store.by_key(config["teacher"]) if config["teacher"] else None,
                   objective_params=config.get("objective_params"),
                   trainable=tuple(config["trainable"]) if config.get("trainable") else None,
                   sam_rho=config.get("sam_rho"), stop=Recovered(**stop) if stop else None,
                   restore_norms=config.get("restore_norms", False))
        if spec.key != config_key(config):
            raise ValueError("the config does not describe a stage of this version of undo_lib")
        return spec

    def describe(self) -> str:
        """A short label for progress bars and errors."""
        if isinstance(self.init, Noised):
            return f"{self.kind} alpha={self.init.alpha:g} beta={self.init.beta:g}"
        if self.objective_params is not None:
            sam = f" sam rho={self.sam_rho:g}" if self.sam_rho else ""
            return f"{self.kind} {self.objective}{sam} lr={self.train.lr:g}"
        if self.teacher is None:
            return f"{self.kind} {self.mixture}"
        into = "a random init" if isinstance(self.init, Random) else self.init.artifact.key[:8]
        return f"{self.kind} {self.teacher.key[:8]} into {into}"

    def cost(self, seq_len: int) -> float:
        """Tokens processed, to order work: a teacher's forward adds a third, SAM's second pass doubles it, and
        a noised start (UNDO) scales the cap by 0.5 + alpha (noisier students recover later)."""
        t = self.train
        cost = t.steps * t.rows_per_step * seq_len * (4 / 3 if self.teacher else 1) * (2 if self.sam_rho else 1)
        return cost * (0.5 + self.init.alpha if isinstance(self.init, Noised) else 1)


@dataclass(frozen=True, kw_only=True)
class AttackSpec:
    """The relearning attack on a stored model: `attack` (AttackCfg) on the mixture `mixture_spec` describes (the
    setting's "attack" mixture, or one of an adversary's, Table 12). graded_after_start: the only metrics graded
    after step 0 (None: all). shrink_perturb: (alpha, beta, seed) applied to the model before relearning (an
    adversary of Table 12), or None."""
    base: dict
    target: Artifact
    attack: AttackCfg
    mixture_spec: dict
    graded_after_start: tuple | None = None
    shrink_perturb: tuple | None = None
    kind = "relearn"

    def __post_init__(self):
        _artifact(self.target, "target")
        if self.shrink_perturb is not None:
            alpha, beta, _seed = self.shrink_perturb
            if not 0 <= alpha <= 1 or beta < 0:
                raise ValueError(f"AttackSpec.shrink_perturb needs 0 <= alpha <= 1 and beta >= 0, got {self.shrink_perturb}")

    @property
    def mixture(self) -> str:
        """The mixture's name within its setting (e.g. "attack", "forget/retain-qa")."""
        return self.mixture_spec["name"].split("/", 1)[1]

    def config(self) -> dict:
        config = {"kind": "relearn", "base": self.base, "target": self.target.key, "attack": asdict(self.attack),
                  "mixture": self.mixture_spec}
        if self.graded_after_start is not None:
            config["graded_after_start"] = list(self.graded_after_start)
        if self.shrink_perturb is not None:  # absent otherwise: the keys of plain attacks stay what they were
            alpha, beta, seed = self.shrink_perturb
            config["shrink_perturb"] = {"alpha": float(alpha), "beta": float(beta), "seed": int(seed)}
        return config

    @property
    def key(self) -> str:
        return config_key(self.config())

    def __hash__(self):
        return hash(self.key)

    def describe(self) -> str:
        return f"relearn {self.target.kind} {self.target.key[:8]}"

    def cost(self, seq_len: int) -> float:
        a = self.attack  # an adversary's rows may be longer than the preset's seq_len
        return a.steps * len(a.lrs) * a.batch_size * max(seq_len, self.mixture_spec.get("seq_len", seq_len))
