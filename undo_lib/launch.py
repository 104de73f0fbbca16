"""Run one stage of an experiment, for `accelerate launch` (several GPUs, or `--cpu` processes in the tests).

    accelerate launch --num_processes 8 -m undo_lib.launch --config store/paper/pretrain-<key>/config.json
    accelerate launch --num_processes 2 --cpu -m undo_lib.launch --scale smoke --setting arithmetic --pretrain reference
"""
import argparse
import json

from .execute import train_stage
from .pipeline import Experiment
from .stages import StageSpec


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="a stage's config.json, as written by the pipeline")
    parser.add_argument("--scale"), parser.add_argument("--setting"), parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pretrain", choices=("reference", "oracle"), help="pretrain this model")
    parser.add_argument("--store", help="store root (default: store/<scale>)")
    args = parser.parse_args(argv)
    if args.config:
        with open(args.config) as f:
            config = json.load(f)
        base = config["base"]
        exp = Experiment(base["scale"], base["setting"], base["seed"], store_root=args.store)
        artifact = train_stage(StageSpec.from_config(config, exp.store), exp.setting, exp.store)
    elif args.pretrain and args.scale and args.setting:
        artifact = Experiment(args.scale, args.setting, args.seed, store_root=args.store).pretrain(args.pretrain)
    else:
        parser.error("give --config, or --scale, --setting and --pretrain")
    print(artifact.path)


if __name__ == "__main__":
    main()
