"""The four scales of the companion and the validation of notebook parameters.

smoke: seconds; checks plumbing only.   cpu: a 2-core laptop; the paper's claims should show.
gpu: one GPU, a middle ground.           paper: the paper's Tables 2-4 (Gemma-2-0.1B/0.3B, FineWeb, Gemma tokenizer).
At smoke/cpu/gpu the data are the embedded offline corpora with a character tokenizer; see undo_lib/data.
"""
from dataclasses import asdict, dataclass

from .attack import AttackCfg
from .train import TrainCfg

SCALES = ("smoke", "cpu", "gpu", "paper")
SETTINGS = ("arithmetic", "language")
PAPER_RELEARN_LRS = (1e-3, 7e-4, 4e-4, 1e-4, 7e-5, 5e-5, 1e-5, 7e-6, 4e-6, 1e-6)  # Table 4
PAPER_LANG_LRS = (1e-5, 2e-5, 3e-5, 4e-5, 5e-5, 6e-5, 7e-5, 8e-5)  # Appendix B.1, all three methods
# Eight rates per method at scale cpu, placed (by short trial runs on the seed-0 reference) from where each method
# starts to bite to where it overshoots; RMU moves only a few projections and needs far larger rates.
CPU_ARITH_LRS = {"grad_diff": (3e-5, 5e-5, 7e-5, 1e-4, 1.5e-4, 2e-4, 3e-4, 5e-4),
                 "max_ent": (5e-6, 7e-6, 1e-5, 1.5e-5, 2e-5, 3e-5, 5e-5, 7e-5),
                 "rmu": (5e-3, 1e-2, 1.5e-2, 2e-2, 3e-2, 5e-2, 7e-2, 1e-1)}
CPU_LANG_LRS = {"grad_diff": (5e-5, 1e-4, 1.5e-4, 2e-4, 3e-4, 4e-4, 5e-4, 7e-4),
                "max_ent": (1e-5, 2e-5, 4e-5, 7e-5, 1e-4, 1.5e-4, 2e-4, 3e-4),
                "rmu": (1e-2, 2e-2, 3e-2, 5e-2, 7e-2, 1e-1, 1.5e-1, 2e-1)}


@dataclass(frozen=True)
class UnlearnCfg:
    """One unlearning method's runs (Table 5): a constant learning rate, swept over `lrs` (Appendix B.1)."""
    steps: int
    batch_size: int      # rows per step, half forget and half retain (the paper's batch of 4 is 4 + 4 here)
    lrs: tuple
    eval_every: int = 5

    def __post_init__(self):
        if self.steps < 1 or self.batch_size < 2 or self.batch_size % 2 or self.eval_every < 1:
            raise ValueError(f"UnlearnCfg needs steps, eval_every >= 1 and an even batch_size >= 2, got {self}")
        if not self.lrs or any(not lr > 0 for lr in self.lrs):
            raise ValueError(f"UnlearnCfg.lrs must be positive learning rates, got {self.lrs!r}")

    def train_cfg(self, lr: float) -> TrainCfg:
        return TrainCfg(steps=self.steps, batch_size=self.batch_size, lr=lr, min_lr=lr, warmup=0, schedule="constant",
                        eval_every=self.eval_every, checkpoint_every=max(self.steps // 2, 1))


# Method hyperparameters per setting (Table 5, Appendix D): GradDiff/MaxEnt retain weight, RMU steering
# coefficient c and retain weight. RMU's layers are chosen per model depth by `rmu_layers`.
# The baselines' defaults (Section 6, Appendix D.1): SAM's radius 0.01 (Table 8's recommended value, on MaxEnt),
# RepNoise alpha = beta = 1 (Appendix D.2.6), UNDIAL's strength 10 (the paper does not say; UNDIAL's own default).
_BASELINE_PARAMS = {"sam": {"alpha": 1.0, "rho": 0.01}, "rep_noise": {"alpha": 1.0, "beta": 1.0},
                    "undial": {"beta": 10.0}}
UNLEARN_PARAMS = {
    "language": {"grad_diff": {"alpha": 1.0}, "max_ent": {"alpha": 1.0}, "rmu": {"coeff": 6.5, "alpha": 1200.0},
                 **_BASELINE_PARAMS},
    "arithmetic": {"grad_diff": {"alpha": 15.0}, "max_ent": {"alpha": 1.0}, "rmu": {"coeff": 6.0, "alpha": 200.0},
                   **_BASELINE_PARAMS},
}
TABLE7_REPNOISE = ((0.1, 0.0001), (0.1, 0.001), (0.5, 0.01), (0.5, 0.1), (1.0, 0.1), (1.0, 1.0), (2.0, 2.0), (4.0, 4.0))
TABLE8_SAM_RHO = (0.001, 0.003, 0.005, 0.01, 0.02, 0.04, 0.07, 0.1)


def rmu_layers(num_layers: int) -> tuple[int, int]:
    """(first, end) decoder layers of RMU, 0-based: the paper's 5-11 of 14, in the same proportion of depth.

    The end layer (whose output is steered) stays below the last layer, so its output is a residual-stream state
    rather than the final-normed one; RMU trains the MLP down-projections of layers first..end."""
    end = max(0, min(num_layers - 2, (11 * num_layers) // 14))
    return min(end, (5 * num_layers) // 14), end


@dataclass(frozen=True)
class UndoCfg:
    """UNDO's noise settings (Section 5): the alpha sweep of Fig 5 at noise scale `beta`, and the alpha x beta grid
    of Fig 6. Students are distilled until within `tolerance` of the teacher's retain performance, evaluated
    every `eval_every` steps (the resolution of the compute measure)."""
    alphas: tuple
    beta: float = 0.1
    grid_alphas: tuple = (0.1, 0.3, 0.5, 0.7)
    grid_betas: tuple = (0.05, 0.1, 0.5, 1.0)
    tolerance: float = 0.05
    eval_every: int = 25

    def points(self) -> list[tuple[float, float]]:
        """Every (alpha, beta) to run: the Fig 5 sweep, then the rest of the Fig 6 grid."""
        pts = [(a, self.beta) for a in self.alphas] + [(a, b) for a in self.grid_alphas for b in self.grid_betas]
        return list(dict.fromkeys(pts))


PAPER_UNDO_ALPHAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)  # Section 5, footnote 1
PAPER_RETAIN_THRESHOLDS = (0.05, 0.09, 0.13, 0.17, 0.21, 0.25, 0.29, 0.33)  # Section 6, footnote 2


@dataclass(frozen=True)
class CompareCfg:
    """The hyperparameter points of Section 6's comparison (Fig 7), per method, and the short attack's length.

    sweep_points: GradDiff/MaxEnt/RMU points: None for the whole learning-rate sweep of notebook 02, k for the
        chosen rate and its k - 1 nearest neighbours in that sweep.
    sam_rhos, rep_noise (alpha, beta pairs): SAM's and RepNoise's grids (Tables 7-8), both at MaxEnt's chosen rate.
    undial_lr_factors: UNDIAL's learning rates, as multiples of MaxEnt's chosen rate.
    undo_tolerances: UNDO's retain thresholds (alpha and beta fixed), each a distill-until-recovered tolerance.
    short_attack: the short attack's steps (the paper's 40 of 500); the long attack is the whole relearning attack."""
    sweep_points: int | None
    sam_rhos: tuple
    rep_noise: tuple
    undial_lr_factors: tuple
    undo_tolerances: tuple
    undo_alpha: float = 0.6
    undo_beta: float = 0.1
    short_attack: int = 40

    def __post_init__(self):
        if self.sweep_points is not None and self.sweep_points < 1:
            raise ValueError(f"CompareCfg.sweep_points must be None or >= 1, got {self.sweep_points!r}")
        if not (self.sam_rhos and self.rep_noise and self.undial_lr_factors and self.undo_tolerances):
            raise ValueError(f"CompareCfg needs at least one point per method, got {self}")


PAPER_COMPARE = CompareCfg(None, TABLE8_SAM_RHO, TABLE7_REPNOISE, (0.3, 1.0, 3.0, 10.0), PAPER_RETAIN_THRESHOLDS)


# Scale cpu keeps notebooks 03 and 04 within a quarter hour each on 2 cores (703 s and 395 s on seed 0, see README):
# three alphas of the sweep (the paper's 0.6 of Section 6 among them, so notebook 04 reuses its
# student), the grid's corners, and two points per method in the comparison (UNDIAL at a third of and at MaxEnt's
# rate: three times it already erases arithmetic retain).
CPU_UNDO = UndoCfg((0.2, 0.6, 0.8), grid_alphas=(0.2, 0.8), grid_betas=(0.1, 1.0))
CPU_COMPARE = CompareCfg(2, (0.01, 0.04), ((1.0, 1.0), (4.0, 4.0)), (0.3, 1.0), (0.05, 0.09), short_attack=10)


def _sweep(*lrs):
    return tuple(float(x) for x in lrs)


def _unlearn(steps, batch_size, grad_diff, max_ent, rmu, rmu_steps=None, eval_every=5):
    return {"grad_diff": UnlearnCfg(steps, batch_size, _sweep(*grad_diff), eval_every),
            "max_ent": UnlearnCfg(steps, batch_size, _sweep(*max_ent), eval_every),
            "rmu": UnlearnCfg(rmu_steps or steps, batch_size, _sweep(*rmu), eval_every)}


@dataclass(frozen=True)
class Preset:
    scale: str
    setting: str
    model: str                 # a key of models.MODEL_PRESETS
    seq_len: int
    pretrain: TrainCfg         # reference and oracle alike (Table 2)
    distill: TrainCfg          # oracle matching / Unlearn-and-Distill (Table 3)
    attack: AttackCfg          # relearning (Table 4)
    n_eval: int                # held-out problems per domain (arithmetic) or tokens per domain (language)
    data: str = "embedded"     # "embedded" (offline) or "hub" (FineWeb + Gemma tokenizer)
    n_train_problems: int = 100_000   # arithmetic problems generated per training stream
    word_problem_frac: float = 0.2    # share of arithmetic problems written as word problems
    english_share: float = 0.75       # arithmetic: share of English rows in the reference's mix (paper: 1:3)
    hub_docs: int = 0          # documents streamed per language at scale paper
    num_processes: int = 1     # >1: stages run under `accelerate launch`
    unlearn: dict | None = None            # method -> UnlearnCfg (Table 5, Appendix B.1)
    unlearn_distill: TrainCfg | None = None  # Unlearn-and-Distill (Table 6); None: the `distill` settings
    undo: UndoCfg | None = None                # UNDO's alpha/beta points (Section 5)
    compare: CompareCfg | None = None          # the method comparison's points (Section 6)

    @property
    def distill_after_unlearning(self) -> TrainCfg:
        """Unlearn-and-Distill's and UNDO's distillation settings: `unlearn_distill`, else oracle matching's."""
        return self.unlearn_distill or self.distill

    def describe(self) -> dict:
        return asdict(self)


def _arith(scale, model, seq_len, pretrain, distill, attack, n_eval, **kw):
    return Preset(scale, "arithmetic", model, seq_len, pretrain, distill, attack, n_eval, **kw)


def _lang(scale, model, seq_len, pretrain, distill, attack, n_eval, **kw):
    return Preset(scale, "language", model, seq_len, pretrain, distill, attack, n_eval, **kw)


PRESETS = {
    ("smoke", "arithmetic"): _arith(
        "smoke", "tiny", 32,
        TrainCfg(steps=30, batch_size=16, lr=3e-3, min_lr=3e-4, warmup=5, eval_every=15, checkpoint_every=10),
        TrainCfg(steps=20, batch_size=16, lr=3e-3, min_lr=3e-4, warmup=5, eval_every=10, checkpoint_every=10),
        AttackCfg(steps=10, lrs=(1e-3, 1e-4), batch_size=8, eval_every=5), n_eval=64, n_train_problems=2000,
        word_problem_frac=0.1, english_share=0.5,
        unlearn=_unlearn(4, 8, (1e-3, 1e-4), (1e-3, 1e-4), (1e-3, 1e-4), eval_every=4),
        unlearn_distill=TrainCfg(steps=10, batch_size=16, lr=3e-3, min_lr=3e-4, warmup=2, eval_every=10),
        undo=UndoCfg((0.3, 0.9), grid_alphas=(0.3, 0.9), grid_betas=(0.1, 1.0), eval_every=5),
        compare=CompareCfg(2, (0.01,), ((1.0, 1.0),), (1.0,), (0.05, 0.3), short_attack=5)),
    ("smoke", "language"): _lang(
        "smoke", "tiny", 64,
        TrainCfg(steps=30, batch_size=8, lr=3e-3, min_lr=3e-4, warmup=5, eval_every=15, checkpoint_every=10),
        TrainCfg(steps=20, batch_size=8, lr=3e-3, min_lr=3e-4, warmup=5, eval_every=10, checkpoint_every=10),
        AttackCfg(steps=10, lrs=(1e-3, 1e-4), batch_size=4, eval_every=5), n_eval=2048,
        unlearn=_unlearn(4, 4, (1e-3, 1e-4), (1e-3, 1e-4), (1e-3, 1e-4), eval_every=4),
        unlearn_distill=TrainCfg(steps=10, batch_size=8, lr=3e-3, min_lr=3e-4, warmup=2, eval_every=10),
        undo=UndoCfg((0.3, 0.9), grid_alphas=(0.3, 0.9), grid_betas=(0.1, 1.0), eval_every=5),
        compare=CompareCfg(2, (0.01,), ((1.0, 1.0),), (1.0,), (0.05, 0.3), short_attack=5)),
    ("cpu", "arithmetic"): _arith(  # one problem per row, rows aligned to problem starts
        "cpu", "small", 16,
        TrainCfg(steps=800, batch_size=128, lr=1e-3, min_lr=1e-4, warmup=50, eval_every=100),
        TrainCfg(steps=300, batch_size=128, lr=1e-3, min_lr=1e-4, warmup=50, eval_every=50),
        AttackCfg(steps=50, lrs=(3e-3, 1e-3, 3e-4), batch_size=64, eval_every=10), n_eval=512,
        word_problem_frac=0.0, english_share=0.25,
        unlearn=_unlearn(20, 64, *CPU_ARITH_LRS.values(), eval_every=20),
        unlearn_distill=TrainCfg(steps=300, batch_size=64, lr=1e-3, min_lr=1e-4, warmup=50, eval_every=50),
        undo=CPU_UNDO, compare=CPU_COMPARE),
    ("cpu", "language"): _lang(
        "cpu", "small", 128,
        TrainCfg(steps=500, batch_size=16, lr=3e-3, min_lr=3e-4, warmup=50, eval_every=50, weight_decay=0.1),
        TrainCfg(steps=250, batch_size=16, lr=3e-3, min_lr=3e-4, warmup=50, eval_every=50, weight_decay=0.1),
        AttackCfg(steps=30, lrs=(3e-3, 1e-3, 3e-4), batch_size=8, eval_every=10), n_eval=8192,
        unlearn=_unlearn(20, 8, *CPU_LANG_LRS.values(), eval_every=20),
        unlearn_distill=TrainCfg(steps=250, batch_size=8, lr=3e-3, min_lr=3e-4, warmup=50, eval_every=50,
                                 weight_decay=0.1),
        undo=CPU_UNDO, compare=CPU_COMPARE),
    ("gpu", "arithmetic"): _arith(
        "gpu", "medium", 128,
        TrainCfg(steps=3000, batch_size=128, lr=1e-3, min_lr=1e-4, warmup=100, eval_every=100),
        TrainCfg(steps=2000, batch_size=128, lr=1e-3, min_lr=1e-4, warmup=100, eval_every=100),
        AttackCfg(steps=500, lrs=(3e-3, 1e-3, 4e-4, 1e-4, 3e-5), batch_size=32, eval_every=10),
        n_eval=2000, n_train_problems=500_000,
        unlearn=_unlearn(50, 64, *CPU_ARITH_LRS.values(), rmu_steps=200, eval_every=5),
        undo=UndoCfg((0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)), compare=PAPER_COMPARE),
    ("gpu", "language"): _lang(
        "gpu", "medium", 256,
        TrainCfg(steps=3000, batch_size=64, lr=1e-3, min_lr=1e-4, warmup=100, eval_every=100, weight_decay=0.1),
        TrainCfg(steps=2000, batch_size=64, lr=1e-3, min_lr=1e-4, warmup=100, eval_every=100, weight_decay=0.1),
        AttackCfg(steps=300, lrs=(3e-3, 1e-3, 4e-4, 1e-4, 3e-5), batch_size=8, eval_every=5), n_eval=32768,
        unlearn=_unlearn(50, 16, *CPU_LANG_LRS.values(), rmu_steps=200, eval_every=5),
        undo=UndoCfg((0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)), compare=PAPER_COMPARE),
    ("paper", "arithmetic"): _arith(  # Tables 2-4, Gemma-2-0.3B
        "paper", "gemma-2-0.3b", 256,
        TrainCfg(steps=1000, batch_size=15, grad_accum=24, lr=4e-4, min_lr=4e-4, warmup=50, eval_every=50),
        TrainCfg(steps=1000, batch_size=15, grad_accum=24, lr=7e-4, min_lr=7e-5, warmup=50, eval_every=50),
        AttackCfg(steps=500, lrs=PAPER_RELEARN_LRS, batch_size=15, eval_every=5),
        n_eval=5000, data="hub", n_train_problems=1_000_000, word_problem_frac=0.5, hub_docs=1_000_000, num_processes=8,
        unlearn=_unlearn(10, 80, (6e-6, 7e-6, 8e-6, 9e-6, 1e-5, 2e-5, 3e-5, 4e-5),
                         (6e-5, 7e-5, 8e-5, 9e-5, 1e-4, 2e-4, 3e-4, 4e-4),
                         (6e-6, 7e-6, 8e-6, 9e-6, 1e-5, 2e-5, 3e-5, 4e-5), rmu_steps=500, eval_every=1),
        unlearn_distill=TrainCfg(steps=1000, batch_size=15, grad_accum=24, lr=7e-4, min_lr=7e-5, warmup=50,
                                 eval_every=50),
        undo=UndoCfg(PAPER_UNDO_ALPHAS, eval_every=10), compare=PAPER_COMPARE),
    ("paper", "language"): _lang(  # Tables 2-4, Gemma-2-0.1B; 2B tokens / (5 x 80 x 2048) = 2441 steps
        "paper", "gemma-2-0.1b", 2048,
        TrainCfg(steps=2441, batch_size=5, grad_accum=80, lr=4e-4, min_lr=4e-5, warmup=50, weight_decay=0.1,
                 eval_every=100),
        TrainCfg(steps=1526, batch_size=4, grad_accum=160, lr=4e-4, min_lr=4e-5, warmup=50, weight_decay=0.1,
                 eval_every=100),
        AttackCfg(steps=500, lrs=PAPER_RELEARN_LRS, batch_size=8, eval_every=5),
        n_eval=500_000, data="hub", hub_docs=2_000_000, num_processes=8,
        unlearn=_unlearn(100, 8, PAPER_LANG_LRS, PAPER_LANG_LRS, PAPER_LANG_LRS, rmu_steps=500, eval_every=10),
        unlearn_distill=TrainCfg(steps=2441, batch_size=4, grad_accum=60, lr=9e-4, min_lr=7e-4, warmup=50,
                                 weight_decay=0.1, eval_every=100),
        undo=UndoCfg(PAPER_UNDO_ALPHAS, eval_every=10), compare=PAPER_COMPARE),
}


def check_params(scale, seed, setting) -> list[str]:
    """Validate a notebook's parameters before any compute; return the settings to run.

    Raises ValueError naming the parameter and its allowed values."""
    if scale not in SCALES:
        raise ValueError(f"parameter 'scale' must be one of {SCALES}, got {scale!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"parameter 'seed' must be a non-negative integer, got {seed!r}")
    if setting not in SETTINGS + ("both",):
        raise ValueError(f"parameter 'setting' must be one of {SETTINGS + ('both',)}, got {setting!r}")
    return list(SETTINGS) if setting == "both" else [setting]


def preset(scale: str, setting: str) -> Preset:
    check_params(scale, 0, setting)
    if setting == "both":
        raise ValueError("preset() needs one setting: 'arithmetic' or 'language'")
    return PRESETS[(scale, setting)]
