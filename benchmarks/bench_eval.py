"""Benchmarks for llmlab's evaluation paths, as ratios measured side by side in one run.

1. Perplexity throughput vs the machine's fp32 matrix multiply. Model FLOPs are counted as
   2 x (parameters that do multiply-adds) per token position they run on:

   * the decoder (every parameter except the input embedding table, whose lookup does no
     arithmetic, and except the output projection; norms included, negligible) runs on every
     position of every window that goes through the model, context re-computed by
     overlapping windows included, padding excluded;
   * the output projection (a real matmul, tied to the embedding or not) runs only on the
     positions whose logits are needed: one per scored token (``llmlab.scoring``'s
     ``TransformersBackend.logits_at``).

   Attention's score/value products are not counted (a conservative choice: they are real
   work the model does, so the ratio understates the model's efficiency slightly).
   The reference is torch.mm on fp32 square matrices of size 1024 in the same process, with
   the same thread count, measured just before and just after; the better of the two is the
   peak.
2. classify() on 1,000 test messages, batched, vs the same model scoring them one at a
   time (batch_size=1), with the scores compared.

Each thread count given (default: 1 and 2) is measured in turn, in the same process.

Run:  .venv/bin/python benchmarks/bench_eval.py [--model tiny-llama] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def matmul_flops(n=1024, repeats=20):
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        torch.mm(a, b)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b)
        best = min(best, (time.perf_counter() - t0) / repeats)
    return 2 * n**3 / best


def compute_params(model):
    """(decoder, output) parameters that do multiply-adds; see the module docstring."""
    emb = model.get_input_embeddings().weight
    out = model.get_output_embeddings()
    skip = {emb.data_ptr()} | ({out.weight.data_ptr()} if out is not None else set())
    decoder, seen = 0, set()
    for p in model.parameters():
        if p.data_ptr() in seen or p.data_ptr() in skip:
            continue
        seen.add(p.data_ptr())
        decoder += p.numel()
    output = 0 if out is None else out.weight.numel()
    return decoder, output


def bench_perplexity(model, tok, texts, batch_size):
    import llmlab
    from llmlab.perplexity import plan_windows, tokenize_texts

    max_length = model.config.max_position_embeddings
    stride = max_length // 2
    ids = tokenize_texts(tok, texts)
    positions = sum(e - s for x in ids for s, e, _ in plan_windows(len(x), max_length, stride))
    llmlab.perplexity(model, tok, texts[:4], batch_size=batch_size)  # warm-up
    t0 = time.perf_counter()
    res = llmlab.perplexity(model, tok, texts, max_length=max_length, stride=stride,
                            batch_size=batch_size)
    elapsed = time.perf_counter() - t0
    decoder, output = compute_params(model)
    flops = 2 * decoder * positions + 2 * output * res.n_tokens
    return res, positions, elapsed, flops / elapsed


def bench_classify(model, tok, texts, batch_size):
    import numpy as np

    import llmlab

    llmlab.classify(model, tok, texts[:8], batch_size=batch_size)  # warm-up
    t0 = time.perf_counter()
    batched = llmlab.classify(model, tok, texts, batch_size=batch_size)
    t_batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    single = llmlab.classify(model, tok, texts, batch_size=1)
    t_single = time.perf_counter() - t0
    diff = float(np.abs(batched.y_score - single.y_score).max())
    ldiff = float(np.abs(batched.label_logprobs - single.label_logprobs).max())
    return t_batched, t_single, diff, ldiff


def main(argv=None):
    import torch

    import llmlab
    from llmlab.datasets import load_docs, load_spam

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny-llama")
    ap.add_argument("--threads", default="1,2",
                    help="comma-separated torch thread counts, measured in turn (default 1,2)")
    ap.add_argument("--ppl-batch", type=int, default=8,
                    help="perplexity batch size (default 8, llmlab.perplexity's default)")
    ap.add_argument("--cls-batch", type=int, default=16,
                    help="classify batch size (default 16, llmlab.classify's default)")
    ap.add_argument("--n-messages", type=int, default=1000)
    args = ap.parse_args(argv)
    threads = [int(t) for t in str(args.threads).split(",") if t.strip()]
    model = llmlab.load_model(args.model)
    tok = llmlab.load_tokenizer(args.model)
    decoder, output = compute_params(model)
    print(f"model {args.model}: {decoder:,} decoder + {output:,} output-layer parameters "
          f"counted; perplexity batch {args.ppl_batch}, classify batch {args.cls_batch}")
    docs = load_docs("test")
    texts, _ = load_spam("test")
    texts = (texts * (args.n_messages // len(texts) + 1))[: args.n_messages]
    previous = torch.get_num_threads()
    try:
        for n in threads:
            _measure(torch, n, model, tok, docs, texts, args)
    finally:
        torch.set_num_threads(previous)  # a caller (the test suite) keeps its thread count


def _measure(torch, n, model, tok, docs, texts, args):
    """One thread count: perplexity vs the matmul peak, then batched vs one-at-a-time."""
    torch.set_num_threads(n)
    print(f"--- torch threads {torch.get_num_threads()}")
    peak_before = matmul_flops()
    res, positions, elapsed, achieved = bench_perplexity(model, tok, docs, args.ppl_batch)
    peak_after = matmul_flops()
    peak = max(peak_before, peak_after)
    print(f"fp32 matmul (1024^3): {peak_before / 1e9:.1f} / {peak_after / 1e9:.1f} GFLOP/s "
          f"(before/after)")
    print(f"perplexity of docs test: {res.perplexity:.3f}, bits/byte "
          f"{res.bits_per_byte:.4f}, {res.n_tokens} scored tokens, {positions} positions "
          f"computed in {elapsed:.2f} s")
    print(f"perplexity: {achieved / 1e9:.1f} GFLOP/s achieved = {achieved / peak:.0%} "
          f"of matmul peak")
    t_b, t_s, diff, ldiff = bench_classify(model, tok, texts, args.cls_batch)
    print(f"classify {len(texts)} messages: batched (batch {args.cls_batch}) {t_b:.2f} s, "
          f"one at a time {t_s:.2f} s, speed-up {t_s / t_b:.2f}x, "
          f"max |y_score diff| {diff:.2e}, max |logprob diff| {ldiff:.2e}")


if __name__ == "__main__":
    main()
