"""Section 6 and Appendix D.2: UNDO on WMDP, as the paper configures it (Tables 9-12), and the adversaries.

At scale `paper` the model is Gemma-2-2B from the hub, the forget evaluation WMDP-Bio or WMDP-Cyber (zero-shot,
every question) and the retain evaluation MMLU (5-shot, 40% of it), through lm-eval (undo_lib.multiple_choice).
At scales smoke and cpu an offline stand-in runs the same code path (undo_lib.data.choices).
"""
from dataclasses import dataclass

from .data.hub import require, stand_in_only

DOMAINS = ("bio", "cyber")
SEEDS = (0, 1, 2, 3)  # "averaged across 4 seeds" (Fig 8)


@dataclass(frozen=True)
class Adversary:
    """One relearning adversary of Table 12: its data (1 forget/retain text 50/50, 2 forget/retain question-answer
    pairs 50/50, 3 Wikipedia text / forget QA / retain QA 50/25/25), sequence length, and whether the model is
    shrink-perturbed (alpha 0.05, beta as UNDO's) before relearning. Every adversary sweeps the learning rate."""
    name: str
    dataset: int
    long: bool
    shrink_perturb: bool

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"Adversary {self.name!r}: dataset must be one of {sorted(DATASETS)}, got {self.dataset}")

    @property
    def seq_len(self) -> int:
        return SEQ_LEN["long" if self.long else "standard"]


DATASETS = {1: (("forget", 0.5), ("retain", 0.5)),                       # "forget/retain"
            2: (("forget_qa", 0.5), ("retain_qa", 0.5)),                 # "forget/retain-qa"
            3: (("wiki", 0.5), ("forget_qa", 0.25), ("retain_qa", 0.25))}  # "wiki-qa"
DATASET_NAMES = {1: "forget/retain", 2: "forget/retain-qa", 3: "wiki-qa"}  # the mixtures' names in a Setting
SEQ_LEN = {"standard": 256, "long": 1024}
LONG_FACTOR = SEQ_LEN["long"] // SEQ_LEN["standard"]  # a "long" adversary's rows: 4 x a standard one's
STAND_IN_ROW = 64  # a standard adversary row at the laptop scales, in characters: a whole question-answer item
# ("Question: What is 13 * 17?\nAnswer: 221", ~40) fits, where the preset's 16-token rows would cut every one short
SHRINK_PERTURB_ALPHA = 0.05


def adversary_batch(batch_size: int, seq_len: int, adversary_seq_len: int) -> int:
    """Rows per step of an adversary whose rows are adversary_seq_len long, reading the tokens of a batch_size x
    seq_len attack step (at least one row). Table 12 gives no batch size; equal tokens per step makes a long adversary
    differ from a standard one in its context, not its data per step, and keeps its cost at the laptop scales."""
    return max(1, batch_size * seq_len // adversary_seq_len)
SHRINK_PERTURB_BETA = 0.0  # "as formulated in the UNDO method": Section 6's UNDO is shrink-only (beta 0)

# Table 12 lists eight rows under a caption that counts seven; all eight are kept (the text says "seven
# configurations" and "6 adversary configurations" in two places, so the table is the one source used).
ADVERSARIES = (
    Adversary("forget/retain", 1, long=False, shrink_perturb=False),
    Adversary("forget/retain-qa", 2, long=False, shrink_perturb=False),
    Adversary("forget/retain-long", 1, long=True, shrink_perturb=False),
    Adversary("forget/retain-qa-long", 2, long=True, shrink_perturb=False),
    Adversary("wiki-qa-long", 3, long=True, shrink_perturb=False),
    Adversary("sp-forget/retain", 1, long=False, shrink_perturb=True),
    Adversary("sp-forget/retain-qa", 2, long=False, shrink_perturb=True),
    Adversary("sp-bio-wiki-qa-long", 3, long=True, shrink_perturb=True),
)


@dataclass(frozen=True)
class UnlearnCfg:
    """Table 9: MaxEnt and RMU on Gemma-2-2B, loss = alpha * retain + (1 - alpha) * forget (Appendix D.2.3)."""
    batch_size: int = 40
    seq_len: int = 256
    steps: int = 90
    schedule: str = "constant"
    weight_decay: float = 0.0
    warmup: int = 0
    rmu_c: float = 80.0
    rmu_layers: tuple = (10, 11, 12, 13, 14, 15)
    rmu_end_layer: int = 15


# Table 10: the chosen (alpha, lr) per domain and method, best retain first; the best one teaches UNDO.
SELECTED = {
    ("bio", "rmu"): ((0.5, 5e-5), (0.3, 1e-4), (0.1, 1e-4)),
    ("bio", "max_ent"): ((0.3, 2e-5), (0.1, 2e-5), (0.75, 5e-5)),
    ("cyber", "rmu"): ((0.5, 2e-5), (0.2, 2e-5), (0.1, 2e-5)),
    ("cyber", "max_ent"): ((0.2, 2e-5), (0.3, 3.5e-5), (0.3, 5e-5)),
}

# Table 11: UNDO's auxiliary distillation data, (hub dataset, subset or None, share).
AUXILIARY_MIX = (
    ("HuggingFaceFW/fineweb-edu", "sample-10BT", 0.35),
    ("legacy-datasets/wikipedia", "20220301.en", 0.35),
    ("Magpie-Align/Magpie-Llama-3.3-Pro-1M-v0.1", None, 0.05),
    ("Magpie-Align/Magpie-Llama-3.1-Pro-1M-v0.1", None, 0.04),
    ("Magpie-Align/Llama-3-Magpie-Pro-1M-v0.1", None, 0.04),
    ("Magpie-Align/Magpie-Gemma2-Pro-534K-v0.1", None, 0.04),
    ("Magpie-Align/Magpie-Phi3-Pro-1M-v0.1", None, 0.04),
    ("Magpie-Align/Magpie-Qwen2.5-Pro-1M-v0.1", None, 0.04),
    ("Magpie-Align/Magpie-Qwen2-Pro-1M-v0.1", None, 0.04),
    ("Wikipedia question-answer", None, 0.01),  # the authors' own, generated with Gemini Flash: not public
)


@dataclass(frozen=True)
class WmdpCfg:
    """Section 6 as the paper runs it: Gemma-2-2B, UNDO at alpha 0.25 and beta 0 from the best MaxEnt and RMU
    models, SAM (rho 0.01) and RepNoise (alpha = beta = 1) on the top two MaxEnt models (Appendix D.2.6),
    distillation on ~300M tokens of the auxiliary mix (Appendix D.2.7)."""
    model: str = "google/gemma-2-2b"
    unlearn: UnlearnCfg = UnlearnCfg()
    undo_alpha: float = 0.25
    undo_beta: float = 0.0
    distill_tokens: int = 300_000_000
    sam_rho: float = 0.01
    rep_noise_alpha: float = 1.0
    rep_noise_beta: float = 1.0
    forget_tasks: tuple = (("bio", "wmdp_bio"), ("cyber", "wmdp_cyber"))
    retain_task: str = "mmlu"
    retain_fewshot: int = 5
    retain_share: float = 0.4
    seeds: tuple = SEEDS


PAPER = WmdpCfg()
# The hub's repositories Section 6 reads: the questions (WMDP, MMLU), the forget and retain corpora (the bio forget
# corpus is gated: its access is requested from its authors) and Table 11's auxiliary mix.
HUB_DATASETS = ("cais/wmdp", "cais/mmlu", "cais/wmdp-corpora")


def check_paper_inputs(cfg: WmdpCfg = PAPER) -> None:
    """Raise at once, naming them, when the hub does not serve Gemma-2-2B, WMDP, MMLU, the corpora or Table 11's
    auxiliary datasets (the authors' own Wikipedia question-answer set is not public and is not checked)."""
    auxiliary = [(name, "dataset") for name, _, _ in AUXILIARY_MIX if "/" in name]
    require([(cfg.model, "model")] + [(d, "dataset") for d in HUB_DATASETS] + auxiliary, "Section 6 at scale 'paper'")


def check_scale(scale: str) -> None:
    """Notebook 05 at a scale: the stand-in at smoke and cpu; at gpu and paper the real experiment (data.hub)."""
    stand_in_only(scale, check_paper_inputs, "notebook 05 (Section 6 on Gemma-2-2B)")


TABLE13_ALPHAS = (0.0, 0.25, 0.35, 0.6)  # shrink-only (beta 0) damage tried on Gemma-2-2B before distilling


def retain_weight(a: float) -> float:
    """Section 6's a (loss = a * retain + (1 - a) * forget) as the retain weight of a forget + w * retain loss:
    the two differ by the factor 1 - a, which Adam's updates do not see."""
    if not 0 < a < 1:
        raise ValueError(f"Section 6's a must lie strictly between 0 and 1, got {a!r}")
    return a / (1 - a)


STAND_IN_AS = (0.1, 0.3, 0.5, 0.75)  # Table 10's values of a, swept at the laptop scales
