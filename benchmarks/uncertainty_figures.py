"""The figures behind issue 17 (intervals, paired tests, calibration), measured in one run.

1. Coverage: simulated Bernoulli data with a known rate; the share of datasets whose 95 %
   interval for accuracy (percentile and BCa) covers the true rate. Nominal: 0.95.
2. Perplexity by text vs by token, on the bundled docs test split: the 95 % interval from
   resampling texts (:func:`llmlab.metrics.perplexity_interval`) against the naive one from
   the per-token standard error (``PerplexityResult.nll_stderr``, tokens treated as
   independent).
3. Calibration of a label-likelihood classifier (the bundled model, spam validation and test
   splits): ECE before and after contextual calibration ("N/A"), the threshold chosen on
   validation for F1, and the test metrics at 0.5 and at that threshold, with intervals.
4. A paired comparison of the two bundled models on the same test messages and texts:
   McNemar's test, a paired bootstrap of F1, and of bits per byte.

Run:  .venv/bin/python benchmarks/uncertainty_figures.py [--n-datasets 1000] [--quick]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np


def coverage(method, *, rate, n, n_datasets, n_resamples, seed=2026):
    from llmlab.metrics import accuracy_score, confidence_interval

    rng = np.random.default_rng(seed)
    hits, widths = 0, []
    for i in range(n_datasets):
        y_true = rng.integers(0, 2, size=n)
        y_pred = np.where(rng.random(n) < rate, y_true, 1 - y_true)
        ci = confidence_interval(accuracy_score, y_true, y_pred, method=method,
                                 n_resamples=n_resamples, random_state=i)
        hits += ci.low <= rate <= ci.high
        widths.append(ci.high - ci.low)
    return hits / n_datasets, float(np.mean(widths))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-datasets", type=int, default=1000)
    parser.add_argument("--n-resamples", type=int, default=1999)
    parser.add_argument("--quick", action="store_true",
                        help="fewer datasets and messages (a smoke run, not figures to quote)")
    args = parser.parse_args(argv)
    n_datasets = 100 if args.quick else args.n_datasets
    max_messages = 60 if args.quick else None

    import llmlab
    from llmlab import datasets, metrics

    print("1. Coverage of 95 % bootstrap intervals for accuracy (simulated Bernoulli data)")
    for rate, n in ((0.8, 200), (0.95, 100), (0.6, 50)):
        for method in ("percentile", "bca"):
            t0 = time.perf_counter()
            cov, width = coverage(method, rate=rate, n=n, n_datasets=n_datasets,
                                  n_resamples=args.n_resamples)
            se = math.sqrt(0.95 * 0.05 / n_datasets)
            print(f"   rate {rate:.2f}, n {n:3d}, {method:10s}: coverage {cov:.3f} "
                  f"(nominal 0.95 +- {2 * se:.3f}), mean width {width:.3f}, "
                  f"{n_datasets} datasets x {args.n_resamples} resamples, "
                  f"{time.perf_counter() - t0:.1f} s")

    models = {name: (llmlab.load_model(name), llmlab.load_tokenizer(name))
              for name in ("tiny-llama", "tiny-mistral")}
    docs = datasets.load_docs("test")[: (8 if args.quick else None)]
    ppl = {name: llmlab.perplexity(m, t, docs) for name, (m, t) in models.items()}

    print("\n2. Perplexity interval on the docs test split: by text vs by token")
    for name, res in ppl.items():
        by_text = metrics.perplexity_interval(res, random_state=0)
        z = 1.959963984540054
        lo_tok = math.exp(res.mean_nll - z * res.nll_stderr)
        hi_tok = math.exp(res.mean_nll + z * res.nll_stderr)
        print(f"   {name}: perplexity {res.perplexity:.3f} over {len(res.per_text)} texts / "
              f"{res.n_tokens} tokens; by text [{by_text.low:.3f}, {by_text.high:.3f}] "
              f"(width {by_text.high - by_text.low:.3f}); by token, as if independent "
              f"[{lo_tok:.3f}, {hi_tok:.3f}] (width {hi_tok - lo_tok:.3f}, "
              f"{(by_text.high - by_text.low) / (hi_tok - lo_tok):.1f}x narrower)")

    print("\n3. Calibration of the label-likelihood classifier (spam validation -> test)")
    val_texts, val_y = datasets.load_spam("validation")
    test_texts, test_y = datasets.load_spam("test")
    val_texts, val_y = val_texts[:max_messages], val_y[:max_messages]
    test_texts, test_y = test_texts[:max_messages], test_y[:max_messages]
    results = {}
    for name, (model, tok) in models.items():
        for cf in (None, "N/A"):
            val = llmlab.classify(model, tok, val_texts, content_free=cf)
            choice = metrics.choose_threshold(val_y, val.y_score, pos_label="spam",
                                              criterion="f1")
            test = llmlab.classify(model, tok, test_texts, content_free=cf,
                                   threshold=choice.threshold)
            results[name, cf] = test
            label = "raw" if cf is None else "contextual 'N/A'"
            ece_val = metrics.expected_calibration_error(val_y, val.y_score, pos_label="spam")
            ece_test = metrics.expected_calibration_error(test_y, test.y_score,
                                                          pos_label="spam")
            f1_05 = metrics.confidence_interval(metrics.f1_score, test_y, test.predict(0.5),
                                                pos_label="spam", random_state=0)
            f1_t = metrics.confidence_interval(metrics.f1_score, test_y, test.y_pred,
                                               pos_label="spam", random_state=0)
            bal = metrics.confidence_interval(metrics.balanced_accuracy_score, test_y,
                                              test.y_pred, random_state=0)
            p_cf = test.content_free_probabilities
            extra = "" if p_cf is None else f", p_cf(ham, spam) = {np.round(p_cf, 4).tolist()}"
            print(f"   {name}, {label}{extra}:")
            print(f"      ECE (10 uniform bins) validation {ece_val:.3f}, test {ece_test:.3f}")
            print(f"      test F1 at 0.5: {f1_05}")
            print(f"      threshold chosen on validation for F1: {choice.threshold:.4g} "
                  f"(validation F1 {choice.value:.3f}); test F1 there: {f1_t}; "
                  f"balanced accuracy {bal}")

    print("\n4. Paired comparison, tiny-llama (A) vs tiny-mistral (B), same test data")
    a, b = results["tiny-llama", None], results["tiny-mistral", None]
    pred_a, pred_b = a.predict(0.5), b.predict(0.5)
    mc = metrics.mcnemar(test_y, pred_a, pred_b)
    print(f"   McNemar at threshold 0.5: A right / B wrong {mc.n_a_only}, B right / A wrong "
          f"{mc.n_b_only}, exact p = {mc.pvalue:.3g}")
    f1d = metrics.paired_bootstrap(metrics.f1_score, test_y, pred_a, pred_b, pos_label="spam",
                                   random_state=0)
    print(f"   F1 difference A - B (paired by message): {f1d}")
    bpb = metrics.paired_perplexity_difference(ppl["tiny-llama"], ppl["tiny-mistral"],
                                               random_state=0)
    print(f"   bits per byte A {bpb.estimate_a:.4f}, B {bpb.estimate_b:.4f}; A - B paired by "
          f"text: {bpb}")

    print("\n5. Report card of tiny-llama on the spam test split (threshold 0.5)")
    print(metrics.report_card(test_y, pred_a, pos_label="spam", y_score=a.y_score,
                              perplexity=ppl["tiny-llama"],
                              title="Report card: tiny-llama").to_text(caveats=False))


if __name__ == "__main__":  # pragma: no cover
    main()
