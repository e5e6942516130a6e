"""Command line: ``python -m training build --model NAME|all`` (a name of ``configs.SPECS``).

Examples
--------
Each bundled model is trained in stages (``configs.py``): from scratch, then continuations,
each from the previous stage's weights and tokenizer with a fresh warmup + cosine schedule,
a new data order and more Python documentation in the mix (tiny-llama and tiny-mistral:
three each). Rebuild both with the step counts recorded in each model's
``training_summary.json`` (a chain of ``previous_stage`` entries)::

    python -m training build --model all --reproduce

The instruct variant, ``tiny-llama-instruct``, is one more stage on top of the bundled
``tiny-llama`` (which must be in ``--out``): chat conversations in its chat template
(``training.instruct``). ``--model all`` builds it after the base models::

    python -m training build --model tiny-llama-instruct --reproduce --threads 1

Train on a wall-clock budget instead (each stage's step count is planned from the measured
throughput)::

    python -m training build --model tiny-llama --minutes 40 --threads 1

Both bundled models were trained one stage at a time on one thread each, often with another
training run on the second core (each stage's time and throughput are in its model card).
For the time a rebuild takes on a 2-core machine: ``--reproduce --threads 2`` of tiny-mistral's
step counts (1,078 + 314 + 2,168), with the third stage still without dropout, took 53 minutes
of wall-clock time, evaluation and model card included. With the dropout that stage now uses
(about 8 % more time per step, ``benchmarks/bench_train_dropout.py``) the same command took
55.6 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from training.configs import BUNDLED, SPECS, get_spec, stages

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "llmlab" / "models"


def _recorded_steps(out: Path, name: str) -> list | None:
    """Step counts of each recorded stage (first stage first), from training_summary.json."""
    path = out / name / "training_summary.json"
    if not path.exists():
        return None
    summary, steps = json.loads(path.read_text()), []
    while summary:
        steps.insert(0, int(summary["steps_run"]))
        summary = summary.get("previous_stage")
    return steps


def build(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training build", description="Train bundled model(s)."
    )
    parser.add_argument("--model", required=True, choices=[*SPECS, "all"],
                        help="which model to train ('all' = the bundled ones, one after another)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="wall-clock budget per stage (default: the spec's)")
    parser.add_argument("--steps", type=int, default=None,
                        help="fixed number of optimizer steps per stage (overrides --minutes)")
    parser.add_argument("--reproduce", action="store_true",
                        help="use the step counts recorded in OUT/<name>/training_summary.json")
    parser.add_argument("--single-stage", action="store_true",
                        help="train the first stage only (skip the continuations)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder that receives <name>/ (default: llmlab/models)")
    parser.add_argument("--seed", type=int, default=None, help="override the first stage's seed")
    parser.add_argument("--no-evaluate", action="store_true",
                        help="skip the test-split evaluation and model card")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from training.train import load_training_data, train_model

    data = load_training_data()
    names = list(BUNDLED) if args.model == "all" else [args.model]
    for name in names:
        plan = stages(get_spec(name, seed=args.seed))
        if args.single_stage:
            plan = plan[:1]
        steps = [args.steps] * len(plan)
        base = plan[0].instruct.get("base")
        if base and not (args.out / base / "model.safetensors").exists():
            parser.error(f"{name} is trained on top of {base}: build {base} into {args.out} "
                         f"first")
        if args.reproduce and args.steps is None:
            recorded = _recorded_steps(args.out, name)
            if base and recorded:  # the chain holds the base model's stages too
                recorded = recorded[-len(plan):]
            if recorded is None or len(recorded) != len(plan):
                parser.error(f"--reproduce: no matching training_summary.json for {name} "
                             f"in {args.out}")
            steps = recorded
        target = args.out / name
        with tempfile.TemporaryDirectory(prefix=f"llmlab-{name}-") as tmp:
            init = args.out / base if base else None
            for i, spec in enumerate(plan):
                last = i == len(plan) - 1
                folder = target if last else Path(tmp) / f"stage{i + 1}"
                print(f"training {name} stage {i + 1}/{len(plan)} -> {folder}",
                      file=sys.stderr, flush=True)
                summary = train_model(spec, folder, data=data, minutes=args.minutes,
                                      steps=steps[i], threads=args.threads, progress=True,
                                      init_from=init)
                print(json.dumps({k: summary[k] for k in (
                    "name", "n_parameters", "steps_run", "best_step", "best_val_loss",
                    "train_seconds", "tokens_per_second")}), flush=True)
                init = folder
        if not args.no_evaluate:
            from training.evaluate import evaluate_folder, write_model_card

            results = evaluate_folder(target, threads=args.threads, progress=True)
            write_model_card(target, results)
            print(json.dumps(results["summary"]), flush=True)
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        print("commands: build")
        return 0
    if argv[0] == "build":
        return build(argv[1:])
    print(f"unknown command {argv[0]!r}; expected 'build'", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
