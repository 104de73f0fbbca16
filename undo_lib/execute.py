"""Carry out one described stage: build its inputs from the store, train (or attack), store the result.

`train_stage(spec, setting, store)` and `attack_stage(...)` are what a worker does for one `StageSpec` or
`AttackSpec`; `work(job)` is the worker function that `runner.run` calls in each process, rebuilding the setting
once per process. A stage that is already stored is returned as it is; a killed one resumes from its checkpoint.
At scales whose preset asks for several processes, a stage runs under
`accelerate launch -m undo_lib.launch --config <config.json>`.
"""
import contextlib
import os
import subprocess
import sys
from types import SimpleNamespace

import torch

from .attack import relearn_attack
from .data.mixture import stable_seed
from .models import MODEL_PRESETS, build_model, rescale_weights, weight_norms
from .noise import shrink_perturb
from .objectives import make_objective
from .scales import preset
from .settings import make_setting
from .stages import AttackSpec, From, Noised
from .store import Artifact, Store
from .train import train

TEACHER_OUTPUTS_BYTES = 2**30  # a stage's teacher outputs are kept for the next student only up to this size
_settings, _shared_teacher = {}, [None, None]  # per process: (scale, setting) -> Setting; (what, outputs)


def setting_of(scale: str, name: str):
    """The Setting of (scale, setting), built once per process (its data streams are costly)."""
    if (scale, name) not in _settings:
        _settings[(scale, name)] = make_setting(preset(scale, name))
    return _settings[(scale, name)]


def work(job) -> None:
    """runner's worker: carry out job.spec for the experiment job.experiment = (scale, setting, seed, store)."""
    scale, name, _seed, store_root = job.experiment
    setting, store = setting_of(scale, name), Store(store_root)
    if (job.spec.base["scale"], job.spec.base["setting"]) != (scale, name):
        raise ValueError(f"{job.name}: a {job.spec.base['setting']} stage sent to the {name} setting")
    if isinstance(job.spec, AttackSpec):
        attack_stage(job.spec, setting, store, job.name)
    else:
        train_stage(job.spec, setting, store)


def stage_inputs(spec, setting, store: Store) -> SimpleNamespace:
    """What `train` needs for a StageSpec: model (its initialization), teacher (or None), objective, cfg
    (TrainCfg), batches (step -> batch) and sam_rho. The models it starts from must be in the store."""
    model_cfg = MODEL_PRESETS[setting.preset.model]
    if isinstance(spec.init, From):
        model = _stored(store, spec.init.artifact).model()
    elif isinstance(spec.init, Noised):
        init = spec.init
        model = shrink_perturb(_stored(store, init.artifact).model(), init.alpha, init.beta, init.seed)
    else:
        model = build_model(model_cfg, len(setting.tokenizer), spec.init.seed, setting.tokenizer)
    teacher = _stored(store, spec.teacher).model() if spec.teacher is not None else None
    objective = make_objective(spec.objective, **(spec.objective_params or {}))
    if (objective.teacher is not None) != (teacher is not None):
        raise ValueError(f"objective {spec.objective!r} and teacher {spec.teacher!r} do not fit")
    if spec.trainable:
        model.requires_grad_(False)
        for name in spec.trainable:
            model.get_parameter(name).requires_grad_(True)
    mixture, data_seed = setting.mixture(spec.mixture), stable_seed(spec.kind, spec.base["seed"])
    if mixture.describe() != spec.mixture_spec:  # what is trained is what the key says
        raise ValueError(f"{spec.describe()}: the {setting.name} mixture {spec.mixture!r} is not the one its spec records")
    rows, forget_rows = spec.train.rows_per_step, spec.objective_params is not None

    def batches(step):
        batch = mixture.batch(step, rows, data_seed)
        if forget_rows:
            batch["forget"] = batch["source"] == 0  # unlearning mixtures list the forget stream first
        return batch
    return SimpleNamespace(model=model, teacher=teacher, objective=objective, cfg=spec.train, batches=batches,
                           sam_rho=spec.sam_rho or 0.0)


def _stored(store: Store, artifact: Artifact) -> Artifact:
    """The artifact as this store holds it (a worker may see another path for the same key)."""
    return store.by_key(artifact.key)


def _top_process() -> bool:
    """Whether this process is not one of `accelerate launch`'s (those see WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) == 1


def _one_writer(store: Store, kind: str, config: dict):
    """The stage's lock in the top process (a second run on the same store waits for the first, then finds its
    result); none inside `accelerate launch`, whose parent holds it."""
    return store.lock(kind, config) if _top_process() else contextlib.nullcontext()


def train_stage(spec, setting, store: Store) -> Artifact:
    """Train the stage `spec` describes, or return it from the store."""
    config = spec.config()
    with _one_writer(store, spec.kind, config):
        return store.find(spec.kind, config) or _train(spec, config, setting, store)


def _train(spec, config: dict, setting, store: Store) -> Artifact:
    if setting.preset.num_processes > 1 and _top_process():
        return launch(spec, store, setting.preset.num_processes)
    path = store.begin(spec.kind, config)
    stage = stage_inputs(spec, setting, store)
    from accelerate import Accelerator
    acc = Accelerator()
    evaluator = setting.validation.only(spec.stop.metric) if spec.stop else setting.validation  # choices read it
    start_norms = weight_norms(stage.model, spec.trainable) if spec.restore_norms else None
    metrics = train(stage.model, stage.objective, stage.batches, stage.cfg, teacher=stage.teacher,
                    checkpoint=path / "checkpoint.pt", evaluate=evaluator, stop=spec.stop, sam_rho=stage.sam_rho,
                    teacher_outputs=teacher_outputs(spec, stage.objective, setting),
                    desc=f"{spec.describe()} ({setting.name})", accelerator=acc)
    if start_norms:
        rescale_weights(stage.model, start_norms)
    if acc.is_main_process:
        store.finish(spec.kind, config, model=stage.model, metrics=metrics)
    acc.wait_for_everyone()
    return store.find(spec.kind, config)


def teacher_outputs(spec, objective, setting) -> dict | None:
    """The teacher outputs (train's `teacher_outputs`) a stage shares with the stages before it in this process
    that had the same teacher and batches: UNDO's students, one after another in a worker, run the teacher once
    per batch. One teacher is kept at a time; None when the objective reads no teacher logits or the outputs of
    every step would pass TEACHER_OUTPUTS_BYTES (e.g. at scale gpu)."""
    cfg, p = spec.train, setting.preset
    size = cfg.steps * cfg.rows_per_step * p.seq_len * MODEL_PRESETS[p.model].hidden_size * 4
    if objective.teacher != "logits" or size > TEACHER_OUTPUTS_BYTES:
        return None
    seen = (spec.teacher.key, spec.kind, spec.mixture, spec.base["seed"], cfg.batch_size, cfg.grad_accum)
    if _shared_teacher[0] != seen:
        _shared_teacher[:] = [seen, {}]
    return _shared_teacher[1]


def launch(spec, store: Store, processes: int) -> Artifact:
    """Train `spec` under `accelerate launch` with `processes` processes (scale paper)."""
    path = store.begin(spec.kind, spec.config())
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes),
           *([] if torch.cuda.is_available() else ["--cpu"]),
           "-m", "undo_lib.launch", "--config", str(path / "config.json"), "--store", str(store.root)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:  # relay to the notebook, whose sys.stdout is no file
            print(line, end="")
    if proc.returncode:
        raise RuntimeError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}")
    return store.find(spec.kind, spec.config())


def attack_stage(spec: AttackSpec, setting, store: Store, label: str = "", batched: bool | None = None) -> Artifact:
    """Attack spec.target and store its curves (lr, step, metric, value), or return the stored attack."""
    config = spec.config()
    with _one_writer(store, "relearn", config):
        return store.find("relearn", config) or _attack(spec, config, setting, store, label, batched)


def _attack(spec: AttackSpec, config: dict, setting, store: Store, label: str, batched) -> Artifact:
    cfg, mixture = spec.attack, setting.mixture(spec.mixture, spec.mixture_spec["seq_len"])
    if mixture.describe() != spec.mixture_spec:  # what is trained on is what the key says
        raise ValueError(f"{spec.describe()}: the {setting.name} mixture {spec.mixture!r} is not the one its spec records")
    data_seed = stable_seed("relearn", spec.base["seed"])
    store.begin("relearn", config)
    later = setting.evaluator.only(*spec.graded_after_start) if spec.graded_after_start else None
    items, label = {}, label or spec.describe()
    model = _stored(store, spec.target).model()
    if spec.shrink_perturb is not None:  # the adversary damages the model first (Table 12's "sp-" adversaries)
        model = shrink_perturb(model, *spec.shrink_perturb)
    curves = relearn_attack({label: model},
                            lambda s: mixture.batch(s, cfg.batch_size, data_seed), setting.evaluator, cfg,
                            batched=batched, later=later, items=items)
    return store.finish("relearn", config, metrics=curves.drop(columns="model"), items=items[label])
