"""llmlab's perplexity against lm-evaluation-harness's ``loglikelihood_rolling``, side by side.

Both score the same documents under the same model in one run, on the CPU, in float32, at the
same thread count, with the same torch and transformers versions:

* **llmlab** -- ``llmlab.perplexity`` in this process (this project's environment);
* **lm-eval** -- ``HFLM.loglikelihood_rolling`` from lm-evaluation-harness, installed from the
  package registry into its own virtual environment (``~/.cache/llmlab/lm-eval-venv`` by
  default; created on the first run, reused after), never into the project's. It runs in a
  worker process that loads the model once and then answers timing requests, so the two are
  timed in turns (the order alternates each round) and each side's median is reported.

The model is shaped like SmolLM2-135M (a Llama: hidden 576, 30 layers, 9 heads, 3 key-value
heads, MLP 1536, vocabulary 49,152, tied embeddings, 2,048 positions) with seeded random
weights, since the hub cannot be reached. Speed does not depend on the weights' values: the
same matrix products run whatever numbers they hold. The tokenizer is a real byte-level BPE
of the same vocabulary size, trained with the ``tokenizers`` library on the bundled docs'
training split, and adds a BOS token first, Llama-style. Model and tokenizer are saved
together as one transformers folder in the cache and reused.

Same tokens, same contexts. llmlab encodes each text with its special tokens (BOS first) and
scores every token after the BOS. lm-eval is given ``add_bos_token=False``, so it encodes the
text without special tokens and puts its prefix token (the tokenizer's BOS) in front: it too
scores every text token given the BOS and all text before it. The documents are the first
ones of the docs' test split that fit in the context (at most ``max_length - 1`` tokens), and
both sides use ``max_length`` 2,048, so each document is one window on both sides (lm-eval's
rolling windows do not overlap and llmlab's do, so longer texts would be scored with
different contexts). The script checks that the two total log-likelihoods agree to within a
relative 1e-3 and prints the agreement, per document too.

Batch sizes: llmlab runs at its default (8 windows per forward pass, sorted by length);
lm-eval at the batch sizes given (default 1, its own default, and 8), each measured; the
headline ratio is against lm-eval's fastest.

Run:  .venv/bin/python benchmarks/bench_lm_eval.py [--docs 40] [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(os.environ.get("LLMLAB_BENCH_CACHE", Path.home() / ".cache" / "llmlab"))
LM_EVAL_VERSION = "0.4.13"
SPEC = {
    "hidden_size": 576,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "intermediate_size": 1536,
    "vocab_size": 49152,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": True,
    "rms_norm_eps": 1e-5,
    "rope_theta": 100000.0,
    "hidden_act": "silu",
}
# The parameter count of SmolLM2-135M, which this shape reproduces.
SMOLLM2_135M_PARAMS = 134_515_008
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
REPLY = "@@bench "  # marks the worker's answers among whatever lm-eval prints
TOLERANCE = 1e-3


def thread_env(threads: int) -> dict:
    """Variables that hold torch, BLAS and the tokenizers' pool to ``threads`` cores."""
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")
    return {name: str(threads) for name in names}


# --- the model -------------------------------------------------------------------------------


def train_tokenizer(texts, vocab_size: int = SPEC["vocab_size"]):
    """A byte-level BPE of ``vocab_size`` tokens trained on ``texts``, BOS added first.

    Returns a ``transformers.PreTrainedTokenizerFast`` whose BOS and EOS are
    ``<|endoftext|>`` (id 0), as in SmolLM2's vocabulary.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    bos = SPECIAL_TOKENS[0]
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, 0)]
        ),
    ])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=bos)


def build_model(seed: int = 0):
    """A float32 ``LlamaForCausalLM`` of SmolLM2-135M's shape with seeded random weights."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**SPEC, bos_token_id=0, eos_token_id=0, dtype="float32")
    torch.manual_seed(seed)
    return LlamaForCausalLM(config).eval()


def model_folder(cache: Path = CACHE, *, seed: int = 0) -> Path:
    """The folder with the model and its tokenizer, built once and reused."""
    folder = cache / f"bench-smollm2-135m-random-{seed}"
    if (folder / "complete.json").exists():
        return folder
    from llmlab.datasets import load_docs

    print(f"building the model and training its tokenizer in {folder} ...", flush=True)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    train_tokenizer(load_docs("train")).save_pretrained(partial)
    build_model(seed).save_pretrained(partial)
    (partial / "complete.json").write_text(json.dumps({"spec": SPEC, "seed": seed}))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def pick_documents(tokenizer, n_docs: int, max_length: int) -> list[str]:
    """The first ``n_docs`` test documents that fit in one window (BOS included)."""
    from llmlab.datasets import load_docs

    texts = [t for t in load_docs("test") if len(tokenizer(t)["input_ids"]) <= max_length]
    if len(texts) < n_docs:
        raise ValueError(
            f"only {len(texts)} test documents fit in max_length={max_length} tokens; "
            f"ask for at most that many with --docs"
        )
    return texts[:n_docs]


# --- lm-eval's environment and worker ----------------------------------------------------------


def requirements() -> list[str]:
    """lm-eval pinned, with this environment's exact torch, transformers and tokenizers."""
    import tokenizers
    import torch
    import transformers

    return [
        f"lm-eval[hf]=={LM_EVAL_VERSION}",
        f"torch=={torch.__version__}",
        f"transformers=={transformers.__version__}",
        f"tokenizers=={tokenizers.__version__}",
    ]


def lm_eval_venv(path: Path) -> Path:
    """The python of a venv at ``path`` holding :func:`requirements`; made when missing.

    torch is installed first, alone and pinned to this environment's exact build, so that
    pip does not resolve lm-eval's ``torch`` requirement to another build.
    """
    python = path / "bin" / "python"
    wanted = requirements()
    marker = path / "llmlab-requirements.json"
    if marker.exists() and json.loads(marker.read_text()) == wanted and python.exists():
        return python
    print(f"installing {', '.join(wanted)} into {path} ...", flush=True)
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, wanted[1]], check=True)
    subprocess.run([*pip, *wanted], check=True)
    marker.write_text(json.dumps(wanted))
    return python


class LmEvalWorker:
    """This script run with ``--worker`` in lm-eval's venv; it holds the model between runs."""

    def __init__(self, python: Path, folder: Path, texts, *, threads: int, max_length: int,
                 log: Path):
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env.update(thread_env(threads), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                   HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        self.log = log
        # Held open for the worker's life, closed in close().
        self.log_file = log.open("w")
        self.proc = subprocess.Popen(
            [str(python), __file__, "--worker", str(folder), "--threads", str(threads),
             "--max-length", str(max_length)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log_file, text=True,
            env=env,
        )
        self.hello = self.ask({"texts": list(texts)})

    def ask(self, message: dict) -> dict:
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith(REPLY):
                return json.loads(line[len(REPLY):])
        tail = self.log.read_text()[-3000:]
        raise RuntimeError(f"the lm-eval worker stopped; the end of {self.log}:\n{tail}")

    def run(self, batch_size: int) -> dict:
        return self.ask({"batch_size": batch_size})

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.log_file.close()


def worker_main(folder: str, threads: int, max_length: int) -> None:
    """Serve timing requests from stdin with lm-eval (runs in lm-eval's venv)."""
    from importlib.metadata import version

    import torch
    import transformers
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    torch.set_num_threads(threads)
    lm = HFLM(pretrained=folder, backend="causal", dtype="float32", device="cpu",
              batch_size=1, max_length=max_length, add_bos_token=False)
    texts = json.loads(sys.stdin.readline())["texts"]
    requests = [Instance(request_type="loglikelihood_rolling", doc={}, arguments=(t,), idx=i)
                for i, t in enumerate(texts)]
    lm.loglikelihood_rolling(requests[:2], disable_tqdm=True)  # warm-up
    # What lm-eval scores: each text without special tokens, its prefix token in front.
    tokens = [len(lm.tok_encode(t)) for t in texts]
    info = {"lm_eval": version("lm_eval"), "torch": torch.__version__,
            "transformers": transformers.__version__, "threads": torch.get_num_threads(),
            "prefix_token_id": lm.prefix_token_id, "max_length": lm.max_length,
            "tokens": tokens, "dtype": str(lm.model.dtype)}
    print(REPLY + json.dumps(info), flush=True)
    for line in sys.stdin:
        lm.batch_size_per_gpu = int(json.loads(line)["batch_size"])
        t0, c0 = time.perf_counter(), time.process_time()
        loglik = lm.loglikelihood_rolling(requests, disable_tqdm=True)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(REPLY + json.dumps({"seconds": seconds, "cpu": cpu, "loglik": loglik}), flush=True)


# --- the comparison ----------------------------------------------------------------------------


def time_llmlab(model, tokenizer, texts, *, max_length: int, batch_size: int):
    import llmlab

    t0, c0 = time.perf_counter(), time.process_time()
    res = llmlab.perplexity(model, tokenizer, texts, max_length=max_length,
                            batch_size=batch_size)
    return time.perf_counter() - t0, time.process_time() - c0, res


def agreement(res, loglik, lm_tokens) -> dict:
    """How far lm-eval's per-document log-likelihoods are from llmlab's."""
    ours = [-x for x in res.per_text_nll]
    if list(res.per_text_tokens) != list(lm_tokens):
        raise AssertionError(
            f"the two score different tokens: llmlab {sum(res.per_text_tokens)}, "
            f"lm-eval {sum(lm_tokens)} (first documents: {res.per_text_tokens[:5]} vs "
            f"{lm_tokens[:5]})"
        )
    total_ours, total_theirs = math.fsum(ours), math.fsum(loglik)
    return {
        "llmlab": total_ours,
        "lm_eval": total_theirs,
        "relative": abs(total_ours - total_theirs) / abs(total_theirs),
        "max_doc": max(abs(a - b) for a, b in zip(ours, loglik)),
    }


def measure(model, tokenizer, texts, worker, args) -> dict:
    """Interleaved timings: per round llmlab and each lm-eval batch size, order alternating."""
    times = {"llmlab": []} | {f"lm-eval bs={b}": [] for b in args.lm_eval_batch_sizes}
    cpu_times = {job: [] for job in times}
    checks = []
    for round_ in range(args.repeats):
        jobs = list(times)
        if round_ % 2:
            jobs.reverse()
        for job in jobs:
            if job == "llmlab":
                seconds, cpu, res = time_llmlab(model, tokenizer, texts, max_length=args.max_length,
                                           batch_size=args.batch_size)
                ours = res
            else:
                reply = worker.run(int(job.split("=")[1]))
                seconds, cpu = reply["seconds"], reply["cpu"]
                checks.append(reply["loglik"])
            times[job].append(seconds)
            cpu_times[job].append(cpu)
            print(f"  round {round_ + 1}: {job:<14} {seconds:7.2f} s  (CPU {cpu:7.2f} s)",
                  flush=True)
    agree = [agreement(ours, loglik, worker.hello["tokens"]) for loglik in checks]
    return {"times": times, "cpu_times": cpu_times, "agreement": max(agree, key=lambda a: a["relative"]),
            "n_tokens": ours.n_tokens}


def report(result, worker, args) -> float:
    import torch
    import transformers

    medians = {job: statistics.median(t) for job, t in result["times"].items()}
    hello = worker.hello
    print(f"\nllmlab side: torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{torch.get_num_threads()} threads, float32, batch_size={args.batch_size}")
    print(f"lm-eval side: lm-eval {hello['lm_eval']}, torch {hello['torch']}, transformers "
          f"{hello['transformers']}, {hello['threads']} threads, {hello['dtype']}")
    agree = result["agreement"]
    print(f"same {result['n_tokens']} tokens scored; total log-likelihood llmlab "
          f"{agree['llmlab']:.4f}, lm-eval {agree['lm_eval']:.4f}: relative difference "
          f"{agree['relative']:.2e}, largest per-document difference {agree['max_doc']:.2e}")
    if not agree["relative"] < TOLERANCE:
        raise AssertionError(f"the two disagree beyond {TOLERANCE:g} relative: not comparable")
    cpu = {job: statistics.median(t) for job, t in result["cpu_times"].items()}
    print(f"\nmedian of {args.repeats} runs ({args.docs} documents; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end):")
    for job, wall in medians.items():
        vs = "" if job == "llmlab" else (
            f"   lm-eval / llmlab {wall / medians['llmlab']:.2f}x "
            f"(CPU {cpu[job] / cpu['llmlab']:.2f}x)")
        print(f"  {job:<14} {wall:7.2f} s  (CPU {cpu[job]:7.2f} s){vs}")
    best = min((j for j in medians if j != "llmlab"), key=medians.get)
    ratio = medians[best] / medians["llmlab"]
    print(f"ratio lm-eval / llmlab = {ratio:.2f}x (against {best}, lm-eval's fastest here)")
    return ratio


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=SPEC["max_position_embeddings"])
    parser.add_argument("--batch-size", type=int, default=8, help="llmlab's")
    parser.add_argument("--lm-eval-batch-sizes", default="1,8",
                        type=lambda s: [int(b) for b in s.split(",")])
    parser.add_argument("--venv", type=Path, default=CACHE / "lm-eval-venv")
    parser.add_argument("--worker", metavar="FOLDER", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> float:
    args = parse_args(argv)
    if args.worker:
        worker_main(args.worker, args.threads, args.max_length)
        return 0.0
    os.environ.update(thread_env(args.threads), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    import torch

    import llmlab

    torch.set_num_threads(args.threads)
    folder = model_folder()
    python = lm_eval_venv(args.venv)
    model, tokenizer = llmlab.load_model(str(folder)), llmlab.load_tokenizer(str(folder))
    texts = pick_documents(tokenizer, args.docs, args.max_length)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start",
          flush=True)
    worker = LmEvalWorker(python, folder, texts, threads=args.threads,
                          max_length=args.max_length, log=CACHE / "bench-lm-eval-worker.log")
    try:
        time_llmlab(model, tokenizer, texts[:2], max_length=args.max_length,
                    batch_size=args.batch_size)  # warm-up
        result = measure(model, tokenizer, texts, worker, args)
    finally:
        worker.close()
    return report(result, worker, args)


if __name__ == "__main__":
    main(sys.argv[1:])
