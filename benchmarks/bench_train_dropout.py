"""Training-step cost of the dropout hooks, measured side by side in one run.

``train.add_training_dropout`` adds one forward hook to the embeddings and to each attention
and MLP block. This script times training steps of a bundled model's architecture (random
weights: the cost does not depend on them) with and without those hooks, in alternating
rounds so that both see the same machine load, and prints tokens/s for each and their ratio.
A step is what ``train_model`` does: forward and backward under bfloat16 autocast, gradient
clipping, AdamW.

Run:  .venv/bin/python benchmarks/bench_train_dropout.py [--model tiny-mistral] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# The training recipe (training/) lives in the repository, next to this folder, not in llmlab.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv=None) -> int:
    import torch
    from transformers import AutoModelForCausalLM

    from training.configs import get_spec, make_config
    from training.train import add_training_dropout, train_step

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-mistral")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per round and mode")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    spec = get_spec(args.model)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(
        make_config(spec, bos_token_id=1, eos_token_id=2, pad_token_id=3), dtype=torch.float32)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randint(4, spec.vocab_size, (spec.batch_size, spec.seq_len))

    def step():
        train_step(model, opt, x, spec)  # exactly what train_model does per step

    for _ in range(2):  # warm up the allocator and the kernels
        step()
    seconds = {"without dropout": 0.0, f"dropout {args.dropout:g}": 0.0}
    for _ in range(args.rounds):
        for mode in seconds:
            handles = add_training_dropout(model, args.dropout) if "dropout " in mode else []
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step()
            seconds[mode] += time.perf_counter() - t0
            for h in handles:
                h.remove()
    tokens = args.rounds * args.steps * spec.batch_size * spec.seq_len
    print(f"{args.model}, {args.threads} thread(s), {args.rounds} rounds x {args.steps} steps "
          f"of {spec.batch_size} x {spec.seq_len} tokens per mode")
    for mode, s in seconds.items():
        print(f"  {mode:16s} {tokens / s:8.0f} tokens/s")
    base, drop = seconds.values()
    print(f"  time ratio, dropout / without: {drop / base:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
