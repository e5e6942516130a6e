"""Command line: ``llmlab report`` evaluates a model on the bundled test splits.

    llmlab report --model tiny-llama [--quantization 8bit|4bit] [--out DIR]
    llmlab models

``report`` measures perplexity and bits per byte on the held-out docs test split and spam
classification on the spam test split, prints the report card as a table, and with ``--out``
writes the card (text and JSON) and the plots (PNG) to DIR.

The card shows each metric with its 95 % bootstrap interval (messages resampled for the
classification metrics, texts for perplexity; ``--seed`` fixes the draw, ``--confidence-level``
and ``--n-resamples`` change it), the verdicts use the intervals, and ROC AUC / average
precision of the scores say whether the classifier is distinguishable from chance.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

__all__ = ["main", "evaluate_model"]


def evaluate_model(
    name_or_path,
    *,
    quantization=None,
    dtype=None,
    max_docs=None,
    max_messages=None,
    batch_size=8,
    progress=False,
    backend="transformers",
    server=None,
    served_model=None,
    confidence_level=0.95,
    n_resamples=9999,
    random_state=0,
    prompt="auto",
):
    """Evaluate a model on the bundled test splits; returns a dict of results.

    ``prompt`` says how the spam messages are asked: ``"plain"`` is the bundled models'
    ``Message: {text}\\nLabel:``; ``"chat"`` is ``llmlab.prompts.SPAM_CHAT_MESSAGES`` rendered
    with the tokenizer's chat template (an instruct model); ``"auto"`` (default) is ``"chat"``
    when the tokenizer has a chat template, else ``"plain"``. The result's ``prompt`` says which.

    With ``server`` (an OpenAI-compatible base URL) the model is the one served there and
    ``name_or_path`` gives its tokenizer; only the test documents that fit one window are
    scored then (a server takes text), and the result says how many were left out.

    Keys: ``model``, ``quantization``, ``footprint_bytes``, ``perplexity`` (a
    :class:`~llmlab.perplexity.PerplexityResult`), ``classification`` (a
    :class:`~llmlab.classify.ClassificationResult`), ``y_true``, ``card`` (a
    :class:`~llmlab.report.ReportCard`, with intervals at ``confidence_level`` from
    ``n_resamples`` bootstrap resamples seeded by ``random_state``) and ``seconds``.
    """
    import llmlab
    from llmlab import metrics
    from llmlab.evaluation import evaluate
    from llmlab.report import report_card

    t0 = time.perf_counter()
    tok = llmlab.load_tokenizer(name_or_path)
    if server is not None:
        model = llmlab.connect(server, served_model, tokenizer=tok)
        if model.context_length is None:  # llama-cpp-python's /models does not say
            model.context_length = _trained_context(name_or_path)
    else:
        model = llmlab.load_model(name_or_path, quantization=quantization, dtype=dtype,
                                  backend=backend)
    from llmlab.prompts import SPAM_CHAT_MESSAGES

    if prompt not in ("auto", "plain", "chat"):
        raise ValueError(f"prompt={prompt!r} must be 'auto', 'plain' or 'chat'")
    if prompt == "auto":
        prompt = "chat" if getattr(tok, "chat_template", None) else "plain"
    ev = evaluate(model, tok, max_docs=max_docs, max_messages=max_messages,
                  batch_size=batch_size, progress=progress,
                  single_window_only=server is not None,
                  template=list(SPAM_CHAT_MESSAGES) if prompt == "chat" else None)
    ppl, cls, y_true = ev.perplexity, ev.classification["natural"], ev.y_true["natural"]
    label = str(name_or_path) + (f" ({quantization})" if quantization else "")
    card = report_card(
        y_true, cls.y_pred, pos_label="spam", y_score=cls.y_score, perplexity=ppl,
        title=f"Report card: {label}", confidence_level=confidence_level,
        n_resamples=n_resamples, random_state=random_state,
    )
    ece = metrics.expected_calibration_error(y_true, cls.y_score, pos_label="spam")
    return {
        "prompt": prompt,
        "ece": ece,
        "model": str(name_or_path) if server is None else f"{model.model} at {server}",
        "docs_scored": ev.n_docs,
        "docs_skipped": ev.n_docs_skipped,
        "quantization": quantization,
        "footprint_bytes": None if server is not None else llmlab.memory_footprint(model),
        "perplexity": ppl,
        "perplexity_note": ev.perplexity_note,
        "classification": cls,
        "y_true": y_true,
        "card": card,
        "seconds": time.perf_counter() - t0,
    }


def _trained_context(name_or_path):
    """The context length the model was trained with, from its config or GGUF header."""
    import llmlab

    path = llmlab.resolve_model_path(name_or_path)
    if os.path.isfile(path):
        from llmlab.gguf import read_gguf_header

        info = read_gguf_header(path)
        return info.metadata.get(f"{info.architecture}.context_length")
    from transformers import AutoConfig

    return getattr(AutoConfig.from_pretrained(path), "max_position_embeddings", None)


def _write_outputs(result, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from llmlab.plots import ConfusionMatrixDisplay, PrecisionRecallDisplay, ReliabilityDisplay

    os.makedirs(out_dir, exist_ok=True)
    written = []
    cls, y_true = result["classification"], result["y_true"]
    disp = ConfusionMatrixDisplay.from_predictions(y_true, cls.y_pred, labels=list(cls.labels))
    path = os.path.join(out_dir, "confusion_matrix.png")
    disp.figure_.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(disp.figure_)
    written.append(path)
    disp = PrecisionRecallDisplay.from_predictions(
        y_true, cls.y_score, pos_label=cls.positive, threshold=cls.threshold, name=result["model"]
    )
    path = os.path.join(out_dir, "precision_recall.png")
    disp.figure_.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(disp.figure_)
    written.append(path)
    disp = ReliabilityDisplay.from_predictions(y_true, cls.y_score, pos_label=cls.positive,
                                               name=result["model"])
    path = os.path.join(out_dir, "reliability.png")
    disp.figure_.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(disp.figure_)
    written.append(path)
    path = os.path.join(out_dir, "report.txt")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(_summary(result) + "\n")
    written.append(path)
    path = os.path.join(out_dir, "report.json")
    ppl = result["perplexity"]
    payload = {
        "model": result["model"],
        "quantization": result["quantization"],
        "prompt": result.get("prompt"),
        "footprint_bytes": result["footprint_bytes"],
        **({"perplexity": ppl.perplexity,
            "perplexity_stderr": ppl.perplexity_stderr,
            "bits_per_byte": ppl.bits_per_byte,
            "n_tokens": ppl.n_tokens,
            "n_bytes": ppl.n_bytes} if ppl is not None
           else {"perplexity": None, "perplexity_note": result["perplexity_note"]}),
        "expected_calibration_error": result["ece"],
        "card": result["card"].to_dict(),
        "seconds": result["seconds"],
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, default=str)
    written.append(path)
    return written


def _summary(result):
    ppl = result["perplexity"]
    lines = [
        str(result["card"]),
        "",
        (f"docs test split: perplexity {ppl.perplexity:.3f} ± {ppl.perplexity_stderr:.3f}, "
         f"bits per byte {ppl.bits_per_byte:.4f} ({ppl.n_tokens} tokens, {ppl.n_bytes} bytes)"
         if ppl is not None else f"docs test split: no perplexity. {result['perplexity_note']}"),
        *([f"(the server takes text: {result['docs_scored']} test documents that fit one "
           f"window scored, {result['docs_skipped']} longer ones left out)"]
          if result.get("docs_skipped") else []),
        f"spam test split: expected calibration error of y_score {result['ece']:.3f} "
        f"(10 uniform bins)",
        ("spam prompt: chat messages through the tokenizer's chat template"
         if result.get("prompt") == "chat" else "spam prompt: plain, 'Message: {text}\\nLabel:'"),
        *([f"memory footprint: {result['footprint_bytes'] / 2**20:.2f} MiB"]
          if result["footprint_bytes"] is not None else []),
        f"evaluated in {result['seconds']:.1f} s",
    ]
    return "\n".join(lines)


def _cmd_report(args):
    result = evaluate_model(
        args.model,
        quantization=args.quantization,
        max_docs=args.max_docs,
        max_messages=args.max_messages,
        batch_size=args.batch_size,
        progress=not args.quiet,
        backend=args.backend,
        server=args.server,
        served_model=args.served_model,
        confidence_level=args.confidence_level,
        n_resamples=args.n_resamples,
        random_state=args.seed,
        prompt=args.prompt,
    )
    print(_summary(result))
    if args.out:
        for path in _write_outputs(result, args.out):
            print(f"wrote {path}")
    return 0


def _cmd_models(args):
    import llmlab

    for name in llmlab.list_bundled_models():
        print(name)
    return 0


def _positive(value):
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive integer")
    return n


def _level(value):
    try:
        level = float(value)
    except ValueError:
        level = float("nan")
    if not 0 < level < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number strictly between 0 and 1")
    return level


def build_parser():
    parser = argparse.ArgumentParser(
        prog="llmlab", description="Evaluate self-hosted causal LMs with llmlab."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "report", help="evaluate a model on the bundled test splits and print its report card"
    )
    rep.add_argument("--model", required=True, help="bundled name, local folder or hub id")
    rep.add_argument("--quantization", choices=["8bit", "4bit"], default=None)
    rep.add_argument("--backend", choices=["transformers", "llama.cpp"], default="transformers",
                     help="llama.cpp runs a GGUF file on llama.cpp's kernels")
    rep.add_argument("--server", default=None, metavar="URL",
                     help="evaluate the model behind an OpenAI-compatible server "
                          "(e.g. http://127.0.0.1:8000/v1); --model gives its tokenizer")
    rep.add_argument("--served-model", default=None, help="the model name on the server")
    rep.add_argument("--out", default=None, help="folder for report.txt/.json and PNG plots")
    rep.add_argument("--max-docs", type=_positive, default=None, help="score only the first N docs")
    rep.add_argument(
        "--max-messages", type=_positive, default=None, help="classify only the first N messages"
    )
    rep.add_argument("--batch-size", type=_positive, default=8)
    rep.add_argument("--confidence-level", type=_level, default=0.95,
                     help="level of the bootstrap intervals (default 0.95)")
    rep.add_argument("--n-resamples", type=_positive, default=9999,
                     help="bootstrap resamples (default 9999)")
    rep.add_argument("--seed", type=int, default=0,
                     help="seed of the bootstrap, for a reproducible card (default 0)")
    rep.add_argument("--prompt", choices=["auto", "plain", "chat"], default="auto",
                     help="how the spam messages are asked: chat messages through the "
                          "tokenizer's chat template, or the plain 'Message: ...\\nLabel:' "
                          "(default auto: chat when the tokenizer has a chat template)")
    rep.add_argument("--quiet", action="store_true", help="no progress bars")
    rep.set_defaults(func=_cmd_report)
    mod = sub.add_parser("models", help="list the bundled models")
    mod.set_defaults(func=_cmd_models)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"llmlab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
