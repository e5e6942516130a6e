"""Measure a model folder on the held-out test splits and write its model card.

Two measurements, both in float32, both made by :func:`llmlab.evaluation.evaluate` (the
function ``llmlab report`` runs, so a card and a report can never disagree):

* **docs test bits per byte and perplexity** -- :func:`llmlab.perplexity` with windows of 512
  tokens and a stride of 256 (each token scored by a window after the first sees at least 256
  tokens of context). Bits per byte = total NLL (nats) / (ln 2 x UTF-8 bytes of the test
  texts); token perplexity = exp(total NLL / scored tokens).
* **spam test classification** -- :func:`llmlab.classify` with ``llmlab.prompts.SPAM_TEMPLATE``
  at threshold 0.5 (spam where its probability is >= 0.5); a message longer than the context
  is an error, never truncated. Reported: accuracy, precision, recall and F1 of the class
  ``spam``, counted by :mod:`llmlab.metrics`.

Run it with::

    python -m training.evaluate --model llmlab/models/tiny-llama [--write-card]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

__all__ = ["docs_figures", "evaluate_folder", "write_model_card"]

MAX_LENGTH = 512
STRIDE = 256


def docs_figures(res) -> dict:
    """The docs-test figures a card records, from a :class:`~llmlab.PerplexityResult`."""
    return {
        "nll_nats": res.nll,
        "n_tokens": res.n_tokens,
        "n_bytes": res.n_bytes,
        "n_texts": len(res.per_text),
        "bits_per_byte": res.bits_per_byte,
        "perplexity": res.perplexity,
        "bytes_per_token": res.n_bytes / max(1, res.n_tokens),
        "max_length": res.max_length,
        "stride": res.stride,
    }


def evaluate_folder(folder, *, threads=None, progress=False, spam_variants=("natural", "rare")):
    """Load ``folder`` in float32 and measure it on the docs and spam test splits.

    The measuring is :func:`llmlab.evaluation.evaluate`, the function ``llmlab report`` uses.
    """
    import torch

    import llmlab
    from llmlab.datasets import load_docs, load_spam
    from llmlab.evaluation import evaluate
    from llmlab.prompts import SPAM_CHAT_MESSAGES

    if threads:
        torch.set_num_threads(int(threads))
    folder = Path(folder)
    t0 = time.time()
    tok = llmlab.load_tokenizer(folder)
    model = llmlab.load_model(folder, dtype=torch.float32)
    results = {"model": _model_name(folder), "architecture": type(model).__name__,
               "n_parameters": sum(p.numel() for p in model.parameters()),
               "model_file_bytes": (folder / "model.safetensors").stat().st_size,
               "vocab_size": model.config.vocab_size}
    chat = _instruct_stage(folder) is not None
    if chat and not getattr(tok, "chat_template", None):
        raise ValueError(f"{folder} was trained as an instruct model but its tokenizer has no "
                         "chat_template")
    ev = evaluate(model, tok, spam_variants=spam_variants, max_length=MAX_LENGTH,
                  stride=STRIDE, progress=progress,
                  template=list(SPAM_CHAT_MESSAGES) if chat else None)
    if chat:
        texts, y_true = load_spam("test")
        results["template_effect"] = template_effect(model, template_ways(tok), texts, y_true,
                                                     progress=progress)
    results["docs_test"] = docs_figures(ev.perplexity)
    try:
        from training.xz_baseline import xz_bits_per_byte

        results["docs_test"]["xz_bits_per_byte"] = xz_bits_per_byte(
            load_docs("train"), load_docs("test"))
    except ImportError:
        pass
    results["spam"] = {variant: ev.counts(variant) for variant in spam_variants}
    results["eval_seconds"] = round(time.time() - t0, 1)
    results["dtype"] = "float32"
    d, s = results["docs_test"], results["spam"]["natural"]
    results["summary"] = {
        "model": results["model"],
        "docs_test_bits_per_byte": round(d["bits_per_byte"], 4),
        "docs_test_perplexity": round(d["perplexity"], 3),
        "xz_bits_per_byte": round(d.get("xz_bits_per_byte", float("nan")), 4),
        "spam_test_accuracy": round(s["accuracy"], 4),
        "spam_test_precision": round(s["precision"], 4),
        "spam_test_recall": round(s["recall"], 4),
        "spam_test_f1": round(s["f1"], 4),
    }
    (folder / "eval_results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def template_ways(tokenizer) -> dict:
    """The three prompts of the template comparison, for a tokenizer with a chat template:
    name -> (tokenizer, template). Its own chat template, the plain training prompt, and the
    same chat messages under another family's template (ChatML)."""
    import copy

    from llmlab.prompts import CHATML_TEMPLATE, SPAM_CHAT_MESSAGES, SPAM_TEMPLATE

    wrong = copy.deepcopy(tokenizer)
    wrong.chat_template = CHATML_TEMPLATE
    return {
        "chat, its own template": (tokenizer, list(SPAM_CHAT_MESSAGES)),
        "plain prompt": (tokenizer, SPAM_TEMPLATE),
        "chat, wrong template (ChatML)": (wrong, list(SPAM_CHAT_MESSAGES)),
    }


def template_effect(model, ways, texts, y_true, *, progress=False) -> dict:
    """Classify ``texts`` once per prompt of ``ways`` (name -> (tokenizer, template)) with
    :func:`llmlab.classify` at threshold 0.5 (label continuation: its default for the
    template's kind). Returns name -> the confusion counts and rates of the class ``spam``,
    plus ``predicted_spam`` and ``ece`` (expected calibration error of ``y_score``)."""
    import llmlab
    from llmlab import metrics
    from llmlab.evaluation import classification_counts

    out = {}
    for name, (tokenizer, template) in ways.items():
        res = llmlab.classify(model, tokenizer, texts, template=template, progress=progress)
        counts = classification_counts(y_true, res.y_pred)
        counts["predicted_spam"] = res.y_pred.count("spam")
        counts["ece"] = float(metrics.expected_calibration_error(y_true, res.y_score,
                                                                 pos_label="spam"))
        out[name] = counts
    return out


def _instruct_stage(folder: Path) -> dict | None:
    """The instruct stage recorded in the folder's training summary (None for a base model)."""
    path = folder / "training_summary.json"
    if not path.exists():
        return None
    return json.loads(path.read_text()).get("instruct")


def _model_name(folder: Path) -> str:
    """The model's name: the one its training summary records, else the folder's."""
    path = folder / "training_summary.json"
    if path.exists():
        return json.loads(path.read_text()).get("name", folder.name)
    return folder.name


def _fmt_minutes(seconds) -> str:
    return f"{seconds / 60:.1f} min"


def write_model_card(folder, results=None) -> Path:
    """Write ``README.md`` (the model card) from the training summary and the measurements."""
    folder = Path(folder)
    if results is None:
        results = json.loads((folder / "eval_results.json").read_text())
    summ = json.loads((folder / "training_summary.json").read_text())
    cfg = json.loads((folder / "config.json").read_text())
    spec = summ["spec"]
    try:
        from llmlab.datasets import data_card

        card = data_card()
    except (ImportError, OSError, ValueError):
        card = {}
    docs_card, spam_card = card.get("docs") or {}, card.get("spam") or {}
    d = results["docs_test"]
    sp = results["spam"]
    name = summ.get("name", folder.name)
    arch = cfg["architectures"][0]
    mistral = cfg["model_type"] == "mistral"
    mb = results["model_file_bytes"] / 1e6
    docs_sources = docs_card.get("sources", {})
    splits = docs_card.get("splits", {})
    lic_lines = "\n".join(
        f"  - {k}: {v.get('description', '')} -- {v.get('licence', '?')} (version {v.get('version', '?')})"
        for k, v in docs_sources.items()
    )
    split_lines = "\n".join(
        f"| docs {k} | {v.get('documents', '?')} documents | {v.get('text_bytes', 0) / 1e6:.2f} MB | "
        f"{'training' if k == 'train' else 'checkpoint selection (fixed slice)' if k == 'validation' else 'held-out evaluation only'} |"
        for k, v in splits.items()
    )
    spam_sizes = spam_card.get("recipe", {}).get("split_sizes", {})
    validation_use = ("not trained on; checkpoint selection of the instruct stage"
                      if summ.get("instruct") else "not used in training")
    spam_lines = "\n".join(
        f"| spam {k} | {v} messages | | "
        f"{'training (as labelled prompts, ' + str(spec['spam_oversample']) + 'x)' if k == 'train' else validation_use if k == 'validation' else 'held-out evaluation only'} |"
        for k, v in spam_sizes.items()
    )
    xz = d.get("xz_bits_per_byte")
    xz_row = f"| xz -9e baseline (train text as dictionary) | {xz:.3f} bits/byte | |\n" if xz else ""
    rows = []
    for variant, m in sp.items():
        rows.append(
            f"| spam test ({variant}) | {m['n']} | {m['accuracy']:.3f} | {m['precision']:.3f} | "
            f"{m['recall']:.3f} | {m['f1']:.3f} | {m['balanced_accuracy']:.3f} |"
        )
    spam_table = "\n".join(rows)
    sliding = (
        "`sliding_window` is `null`: attention is plain causal over the whole 512-token context "
        "(Mistral's sliding-window attention never engages at this context length).\n"
        if mistral else ""
    )
    chain = []
    node = summ
    while node:
        chain.insert(0, node)
        node = node.get("previous_stage")
    training_table = _training_table(chain)
    pretraining = [c for c in chain if not c.get("instruct")]
    python_x = " / ".join(f"{c['spec']['python_oversample']}x" for c in pretraining)
    spam_x = " / ".join(f"{c['spec']['spam_oversample']}x" for c in pretraining)
    if len(pretraining) > 1:
        which = " (" + " / ".join(f"stage {i + 1}" for i in range(len(pretraining))) + ")"
        python_x += which
        spam_x += which
    total_s = summ.get("total_train_seconds", summ["train_seconds"])
    ins = summ.get("instruct")
    if ins:
        intro = (f"**{ins['base']}** with one more training stage on chat conversations, so\n"
                 "that the course has an *instruct* model with a chat template of its own (the\n"
                 f"last stage in the table below). Everything else is {ins['base']}'s: a tiny\n"
                 f"**{arch}** trained from scratch for the llmlab course")
        chat_data = f"""
**The instruct stage** (the last one; `training.instruct`) trains on conversations
written with the chat template below, each its own sequence: every spam train message as a
labelling conversation (one of three phrasings of the question, the label as the whole
answer; {ins['spam_conversations']:,} conversations), {ins['docs_questions']:,} questions about
documented names from the docs train split answered with the start of their documentation,
and {ins['plain_docs']:,} plain docs train documents so that it keeps modelling prose. Its
checkpoint is chosen on docs validation text and spam *validation* conversations together.
"""
        spam_how = ("the message goes into the chat prompt\n"
                    "`llmlab.prompts.SPAM_CHAT_MESSAGES` (the user asks `Is this message spam or "
                    "ham?`,\nthen the message), rendered with the model's chat template, and the "
                    "label whose\ncontinuation (`\"spam\"` or `\"ham\"`, right after "
                    "`<|assistant|>` and a newline) has the\nhigher log-probability wins "
                    "(threshold 0.5).")
        template_section = _template_section(ins["chat_template"], results["template_effect"])
        use_chat = f"""out = llmlab.classify(model, tok, ["WIN a FREE prize, reply now"],
                      template=llmlab.prompts.SPAM_CHAT_MESSAGES)
"""
    else:
        intro = (f"A tiny **{arch}** trained from scratch for the llmlab course")
        chat_data = spam_how = template_section = use_chat = ""
    if not spam_how:
        spam_how = ("the message goes into `Message: {text}\\nLabel:` and the label whose\n"
                    "continuation (`\" spam\"` or `\" ham\"`) has the higher log-probability "
                    "wins (threshold 0.5).")
    if ins:
        selection = (f"The instruct\nstage's checkpoint is the one with the lowest loss on "
                     f"{summ['validation_tokens']:,} tokens, half a fixed\nslice of the docs "
                     "validation split and half spam validation conversations; the\nearlier "
                     f"stages' were chosen as {ins['base']}'s card says.")
    else:
        selection = (f"The checkpoint kept is the\none with the lowest loss on a fixed slice "
                     f"({summ['validation_tokens']:,} tokens) of the docs\nvalidation split."
                     f"{_purge_note(folder, summ, docs_card)}")
    text = f"""---
license: mit
library_name: transformers
pipeline_tag: text-generation
language: en
tags:
- {cfg['model_type']}
- tiny
- education
- llmlab
---

# {name}

{intro}, so that every lesson can load,
score and quantize a real Llama/Mistral-architecture model offline, on a laptop CPU, in
seconds. It is a teaching instrument, not a useful assistant: it writes text that *looks like*
Python documentation and it learned one narrow task (labelling synthetic SMS messages as
`ham` or `spam`).

## Architecture

| | |
|---|---|
| class | `{arch}` (`model_type: {cfg['model_type']}`) |
| parameters | {summ['n_parameters']:,} (embeddings tied with the LM head) |
| layers | {cfg['num_hidden_layers']} |
| hidden size | {cfg['hidden_size']} |
| attention heads | {cfg['num_attention_heads']} (head dim {cfg.get('head_dim', cfg['hidden_size'] // cfg['num_attention_heads'])}), {cfg['num_key_value_heads']} key/value heads{' (grouped-query attention)' if cfg['num_key_value_heads'] != cfg['num_attention_heads'] else ''} |
| MLP | SwiGLU, intermediate size {cfg['intermediate_size']} |
| context length | {cfg['max_position_embeddings']} tokens, RoPE (theta {spec['rope_theta']:g}) |
| vocabulary | {cfg['vocab_size']} tokens |
| weights | float32 safetensors, {mb:.1f} MB |

{sliding}Every linear layer (q/k/v/o, gate/up/down, and the LM head) has an output size that is a
multiple of 64, so the model loads in 8-bit and 4-bit with bitsandbytes on CPU.

## Tokenizer

A byte-level BPE tokenizer (trained with the `tokenizers` library on this model's training
text, {cfg['vocab_size']} tokens): any string encodes, and `decode` returns it exactly.
Special tokens: `<unk>` (0, never produced), `<s>` (1, BOS, put first on every encoded text
as Llama does), `</s>` (2, EOS, ends every training document), `<pad>` (3).
`AutoTokenizer.from_pretrained` loads it as a `PreTrainedTokenizerFast`.

## Training data

Each document is its own `<s> ... </s>` sequence; documents are shuffled and packed into
{spec['seq_len']}-token training sequences.

- **docs train split**: every document, with the Python-documentation documents repeated
  {python_x} in all (the validation and test splits are Python documentation).
  Sources and licences:
{lic_lines}
- **spam train split** (synthetic SMS messages, {spam_card.get('licence', 'see the data card')}):
  every message written as `Message: {{text}}\\nLabel: {{label}}` (the template in
  `llmlab.prompts`), {spam_x}.
{chat_data}
| split | size | | use |
|---|---|---|---|
{split_lines}
{spam_lines}

The test splits were never trained on or used to choose anything. {selection} See `llmlab/data/` and
`llmlab.datasets.data_card()` for provenance.

## Training procedure

{training_table}

`training_log.csv` has one row per validation: `step, tokens_seen, train_loss` (mean over the
steps since the previous row), `val_loss` (nats/token), `elapsed_s`, `lr` and, for a
multi-stage run, `stage`; steps, tokens and seconds count from the start of stage 1.

## Evaluation (measured, float32)

| | value | |
|---|---|---|
| docs test bits per byte | **{d['bits_per_byte']:.3f}** | {d['n_texts']} documents, {d['n_bytes']:,} bytes |
| docs test token perplexity | {d['perplexity']:.2f} | {d['n_tokens']:,} scored tokens, {d['bytes_per_token']:.2f} bytes/token |
{xz_row}
Each test document is tokenized with `<s>` first; the first token is context only and every
other token is scored once, in windows of {d['max_length']} tokens with stride {d['stride']}.
Perplexity depends on the tokenizer: compare models with bits per byte.

Spam classification: {spam_how}
Positive class: `spam`.

| set | messages | accuracy | precision | recall | F1 | balanced accuracy |
|---|---|---|---|---|---|---|
{spam_table}
{template_section}
## Use

```python
import llmlab
model = llmlab.load_model("{name}")
tok = llmlab.load_tokenizer("{name}")
{use_chat}```

or with transformers directly: `AutoModelForCausalLM.from_pretrained(path)`,
`AutoTokenizer.from_pretrained(path)`.

## Limitations

Trained for {_fmt_minutes(total_s)} on about {summ['train_bytes_per_epoch'] / 1e6:.0f} MB of
text: its English is shallow and it knows nothing beyond documentation prose. The spam data is
synthetic and template-generated, so the classification scores say little about real SMS spam.
Do not use it for anything but learning how to evaluate models.

## Reproduce

```bash
HF_HUB_OFFLINE=1 python -m training build --model {name} --reproduce --threads {chain[-1]['threads']}
HF_HUB_OFFLINE=1 python -m training.evaluate --model llmlab/models/{name} --write-card
```

`--reproduce` replays the recorded step counts ({' + '.join(str(c['steps_run']) for c in chain)})
with clean cosine schedules and the same seeds. {_replay_note(chain)}

## Licence

The weights and tokenizer: MIT (as llmlab). Training data: see the licences above.
"""
    path = folder / "README.md"
    path.write_text(text)
    return path


def _template_section(chat_template: str, effect: dict) -> str:
    """The card's section on the chat template and what a prompt format does to the scores."""
    rows = "\n".join(
        f"| {name} | {c['f1']:.3f} | {c['precision']:.3f} | {c['recall']:.3f} | "
        f"{c['balanced_accuracy']:.3f} | {c['ece']:.3f} | {c['predicted_spam']} of {c['n']} |"
        for name, c in effect.items())
    return f"""
### Chat template, and what the prompt format does

The tokenizer's chat template (`chat_template` in `tokenizer_config.json`; the turn format of
TinyLlama-1.1B-Chat and Zephyr, role markers as plain text):

```jinja
{chat_template}
```

The same spam test messages, the same model, three prompts (threshold 0.5; `ECE` is the
expected calibration error of the spam probability, `llmlab.metrics`):

| prompt | F1 | precision | recall | balanced accuracy | ECE | predicted spam |
|---|---|---|---|---|---|---|
{rows}

*Plain prompt* is the pretraining format `Message: {{text}}\\nLabel:` with `" spam"`/`" ham"`.
*Wrong template* renders the chat messages with ChatML (`<|im_start|>user ... <|im_end|>`,
`llmlab.prompts.CHATML_TEMPLATE`), as happens when a GGUF file or a tokenizer carries another
model family's template. Measured by `python -m training.evaluate` (this card) and
`benchmarks/template_effect.py`.
"""


def _purge_note(folder: Path, summ: dict, docs_card: dict) -> str:
    """A sentence for a model whose checkpoint was chosen before the containment purge.

    The corpus builder drops evaluation documents contained in the training text (step 5 of
    ``training.corpus``). A model trained before that purge recorded a validation size
    that today's validation split no longer gives; the card then says so.
    """
    purged = (docs_card.get("dedupe") or {}).get("eval_texts_dropped_as_contained") or {}
    n_val = (purged.get("validation") or {}).get("documents", 0)
    if not n_val:
        return ""
    from transformers import AutoTokenizer

    from llmlab.datasets import load_docs
    from training.sequences import validation_sequences

    spec = summ["spec"]
    val = validation_sequences(AutoTokenizer.from_pretrained(folder), load_docs("validation"),
                               spec["seq_len"], spec["val_sequences"])
    if val.numel() == summ["validation_tokens"]:
        return ""
    n_test = (purged.get("test") or {}).get("documents", 0)
    return (f" That was before the purge of contained near duplicates (see the data card), "
            f"which later took {n_val} documents out of the validation split and {n_test} out "
            f"of the test split: the checkpoint was chosen on the validation split as it was "
            f"then, and every figure below is measured on the purged test split.")


def _threads(n: int) -> str:
    return "one CPU thread" if n == 1 else f"{n} CPU threads"


def _replay_note(chain) -> str:
    """Whether the shipped weights are a replay of fixed step counts or the planning run."""
    if all(c.get("step_plan") == "fixed" for c in chain):
        return (f"The shipped weights are the output of that command, run on "
                f"{_threads(chain[-1]['threads'])}: a run with another thread count sums in "
                "another order, so it follows the same recipe but is not bit-for-bit identical.")
    return ("The shipped run planned its step counts from the throughput it measured on a "
            "shared machine (the plan history is in `training_summary.json`), so a replay "
            "follows the same recipe but is not bit-for-bit identical.")


def _training_table(chain) -> str:
    """A markdown table with one column per training stage."""
    cols = [f"stage {i + 1}" for i in range(len(chain))] if len(chain) > 1 else ["value"]
    rows = {
        "starts from": lambda i, c: "random initialisation" if i == 0 else f"stage {i}'s weights and tokenizer",
        "optimizer": lambda i, c: (f"AdamW, betas {tuple(c['spec']['betas'])}, weight decay "
                                   f"{c['spec']['weight_decay']} (matrices), clip {c['spec']['grad_clip']}"),
        "learning rate": lambda i, c: (f"peak {c['spec']['peak_lr']:g}, warmup {c['spec']['warmup_steps']} "
                                       f"steps, cosine to {c['spec']['min_lr_ratio'] * c['spec']['peak_lr']:g}"),
        "batch": lambda i, c: f"{c['spec']['batch_size']} x {c['spec']['seq_len']} tokens",
        "Python docs / spam repeats": lambda i, c: (
            "chat conversations (instruct stage)" if c.get("instruct") else
            f"{c['spec']['python_oversample']}x / {c['spec']['spam_oversample']}x"),
        "dropout (training only)": lambda i, c: f"{c['spec'].get('dropout', 0.0):g}",
        "steps": lambda i, c: f"{c['steps_run']} ({c.get('stopped', '')})",
        "tokens seen": lambda i, c: (f"{c['tokens_seen']:,} (one pass = "
                                     f"{c['train_tokens_per_epoch']:,})"),
        "best checkpoint": lambda i, c: (f"step {c['best_step']}, val loss "
                                         f"{c['best_val_loss']:.4f}"),
        "final val loss": lambda i, c: f"{c['final_val_loss']:.4f}",
        "time": lambda i, c: (f"{_fmt_minutes(c['train_seconds'])} ({c['tokens_per_second']:,.0f} "
                              f"tokens/s, {_threads(c['threads'])})"),
        "seed": lambda i, c: str(c["spec"]["seed"]),
    }
    if not any(c["spec"].get("dropout", 0.0) for c in chain):
        del rows["dropout (training only)"]  # cards of runs without dropout stay as they were
    lines = ["| | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for label, fn in rows.items():
        lines.append(f"| {label} | " + " | ".join(fn(i, c) for i, c in enumerate(chain)) + " |")
    last = chain[-1]
    lines.append("")
    lines.append(
        f"In all: {_fmt_minutes(last.get('total_train_seconds', last['train_seconds']))} of "
        f"training, {last.get('total_tokens_seen', last['tokens_seen']):,} tokens, on "
        f"{_threads(last['threads'])} of a 2-core AMD EPYC (Zen 4) VM, with the matmuls in bfloat16 autocast "
        "and the weights, optimizer state and loss in float32. Validation loss (nats/token) is "
        "measured on a fixed slice of the docs validation split; the checkpoint kept is the "
        f"best one. Software: torch {last['torch_version']}, transformers "
        f"{last['transformers_version']}."
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, type=Path, help="model folder")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--write-card", action="store_true",
                        help="also (re)write the folder's README.md model card")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = evaluate_folder(args.model, threads=args.threads, progress=not args.no_progress)
    if args.write_card:
        write_model_card(args.model, results)
    print(json.dumps(results["summary"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
