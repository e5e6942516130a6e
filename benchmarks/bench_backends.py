"""The same GGUF model scored four ways, side by side in one run: transformers in process (the
GGUF dequantized), llama.cpp in process, and a llama-cpp-python server at concurrency 1 and 4.

Text scoring: every token of the docs test documents that fit one 512-token window, from the
second text token on (a server that takes strings can only score windows that start at the
text's start, and llama-cpp-python's server gives no log-prob for the first token after BOS);
the summed log-likelihood of each way is printed next to its speed. Classification of 1,000
spam test messages. Prints tokens per second and each way's ratio to transformers.

Then llama.cpp's prefix reuse, side by side in the same run: classification by llama.cpp in
process with every sequence evaluated from scratch (``reuse_prefix=False``) and with only
the part after the prefix it shares with the previous sequence, for the zero-shot template,
for labels of several tokens (each continues its prompt) and for a few-shot prompt (the
examples are a prefix every message shares). Each way runs ``--repeats`` times, alternating;
the best time of each is kept. Prints tokens evaluated, seconds, the speed-up and whether
the log-likelihoods are identical.

Run:  .venv/bin/python benchmarks/bench_backends.py [--model tiny-llama] [--kind f32]
      [--only-reuse]
(needs llama-cpp-python: pip install 'llmlab[llamacpp]')
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's tools/


def main(argv=None):
    import llmlab
    from llmlab.export_gguf import export_gguf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny-llama")
    ap.add_argument("--kind", default="f32", choices=["f32", "q8_0"])
    ap.add_argument("--n-messages", type=int, default=1000)
    ap.add_argument("--reuse-messages", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    ap.add_argument("--only-reuse", action="store_true", help="only the prefix-reuse part")
    args = ap.parse_args(argv)
    tok = llmlab.load_tokenizer(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        gguf = str(export_gguf(args.model, tmp, kind=args.kind))
        if not args.only_reuse:
            four_ways(gguf, tok, args)
        prefix_reuse(gguf, tok, args)


def four_ways(gguf, tok, args):
    """Text scoring and classification by transformers, llama.cpp and a server."""
    import llmlab
    from llmlab.datasets import load_docs, load_spam
    from llmlab.scoring import Request, score_requests
    from tools.servers import start_server, stop_server

    docs = [tok(d)["input_ids"] for d in load_docs("test")]
    requests = [Request(tuple(ids[:2]), (tuple(ids[2:]),)) for ids in docs if len(ids) <= 512]
    n_doc_tokens = sum(len(r.continuations[0]) for r in requests)
    texts, _ = load_spam("test")
    texts = (texts * (args.n_messages // len(texts) + 1))[: args.n_messages]
    n_cls_tokens = sum(len(ids) for ids in tok(texts)["input_ids"])
    proc, url = start_server(gguf)
    try:
        ways = {
            "transformers (GGUF dequantized)": llmlab.load_model(gguf),
            "llama.cpp in process": llmlab.load_model(gguf, backend="llama.cpp"),
            "server, concurrency 1": llmlab.connect(url, tokenizer=tok, max_concurrency=1,
                                                    context_length=512),
            "server, concurrency 4": llmlab.connect(url, tokenizer=tok, max_concurrency=4,
                                                    context_length=512),
        }
        print(f"{args.model} {args.kind}: {len(requests)} docs ({n_doc_tokens} tokens), "
              f"{len(texts)} messages "
              f"({n_cls_tokens} prompt tokens); torch threads {os.cpu_count()}")
        rows = []
        for name, model in ways.items():
            t0 = time.perf_counter()
            scored = score_requests(model, requests, batch_size=8, tokenizer=tok)
            t_ppl = time.perf_counter() - t0
            loglik = sum(float(r[0].sum()) for r in scored)
            t0 = time.perf_counter()
            llmlab.classify(model, tok, texts, batch_size=16)
            t_cls = time.perf_counter() - t0
            rows.append((name, loglik, n_doc_tokens / t_ppl, n_cls_tokens / t_cls))
    finally:
        stop_server(proc)
    base_ppl, base_cls = rows[0][2], rows[0][3]
    print(f"{'way':34s} {'log-lik':>10s} {'text tok/s':>10s} {'ratio':>6s} "
          f"{'cls tok/s':>10s} {'ratio':>6s}")
    for name, ppl, r_ppl, r_cls in rows:
        print(f"{name:34s} {ppl:10.1f} {r_ppl:10.0f} {r_ppl / base_ppl:6.2f} "
              f"{r_cls:10.0f} {r_cls / base_cls:6.2f}")


def prefix_reuse(gguf, tok, args):
    """llama.cpp classification with and without prefix reuse, side by side."""
    import numpy as np

    import llmlab
    from llmlab.backends.llamacpp import LlamaCppModel
    from llmlab.datasets import load_spam

    texts, _ = load_spam("test")
    texts = (texts * (args.reuse_messages // len(texts) + 1))[: args.reuse_messages]
    train, train_labels = load_spam("train")
    shots = "".join(f"Message: {t}\nLabel: {y}\n\n" for t, y in
                    list(zip(train, train_labels))[:4])
    setups = {
        "zero-shot, labels ham/spam": {},
        "zero-shot, multi-token labels": {"labels": ("not spam", "spam, surely"),
                                          "pos_label": "spam, surely"},
        "4-shot prompt, labels ham/spam": {"template": shots + "Message: {text}\nLabel:"},
    }
    models = {reuse: LlamaCppModel(gguf, tokenizer=tok, reuse_prefix=reuse,
                                   n_threads=args.threads) for reuse in (False, True)}
    print(f"\nllama.cpp prefix reuse, classify of {len(texts)} messages, best of "
          f"{args.repeats} (threads {args.threads or 'llama.cpp default'})")
    print(f"{'setup':32s} {'tokens, fresh':>13s} {'reused':>8s} {'s, fresh':>9s} "
          f"{'reused':>8s} {'speed-up':>8s} identical")
    for name, kwargs in setups.items():
        best, tokens, scores = {}, {}, {}
        for _ in range(args.repeats):
            for reuse, model in models.items():
                model.llm.reset()
                start = model.evaluated.tokens
                t0 = time.perf_counter()
                out = llmlab.classify(model, tok, texts, batch_size=16, **kwargs)
                elapsed = time.perf_counter() - t0
                best[reuse] = min(best.get(reuse, float("inf")), elapsed)
                tokens[reuse] = model.evaluated.tokens - start
                scores[reuse] = out.label_logprobs
        same = np.array_equal(scores[True], scores[False])
        print(f"{name:32s} {tokens[False]:13d} {tokens[True]:8d} {best[False]:9.2f} "
              f"{best[True]:8.2f} {best[False] / best[True]:7.2f}x {same}")


if __name__ == "__main__":
    main()
