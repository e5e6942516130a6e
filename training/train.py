"""Train one bundled model: tokenizer, packed sequences, AdamW + warmup/cosine, best checkpoint.

The recipe, in order:

1. The training text is every document of the docs *train* split plus every spam *train*
   message written as ``llmlab.prompts.format_labelled(text, label)`` (repeated
   ``spam_oversample`` times), each its own document. Validation and test splits are never
   trained on; a fixed slice of the docs *validation* split gives the validation loss that
   picks the checkpoint.
2. A byte-level BPE tokenizer is trained on that text (each labelled message once).
3. Each document is encoded as ``<s> ... </s>``; the documents are shuffled (seeded),
   concatenated and cut into sequences of ``seq_len`` tokens. Every epoch reshuffles the
   sequences and shifts the cut points by a seeded offset.
4. AdamW with linear warmup and cosine decay to ``min_lr_ratio * peak_lr``. With ``steps``
   the run is fully determined by the seed; with ``minutes`` a short throughput probe picks
   the step count that fits the budget (the probe steps are inside the warmup, so the
   schedule does not depend on anything measured before it is fixed), and the step count is
   recorded so ``--steps`` reproduces the run. A spec with ``dropout`` > 0 adds dropout to
   the embeddings and to each attention and MLP output while training
   (``add_training_dropout``); the saved model has none.
5. Every ``eval_every`` steps the validation loss is measured; the best checkpoint is saved.
6. An instruct stage (a spec with ``instruct``, :mod:`training.instruct`) starts from
   its base model, sets the tokenizer's chat template, trains on chat conversations plus
   some plain documentation, and picks the checkpoint on documentation and labelling
   conversations together.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

from training import instruct
from training.sequences import encode_documents, pack, validation_sequences

__all__ = [
    "TrainingData", "add_training_dropout", "build_texts", "load_training_data", "pack",
    "train_model",
]

LOG_FIELDS = ("step", "tokens_seen", "train_loss", "val_loss", "elapsed_s", "lr")


@dataclass
class TrainingData:
    """The raw text of one training run."""

    docs_train: list
    spam_train_texts: list
    spam_train_labels: list
    docs_validation: list
    source: str = "llmlab.datasets"
    #: Optional source tag per training document ("python/...", "numpy/...", ...).
    docs_train_sources: list | None = None


def load_training_data() -> TrainingData:
    """Load the bundled splits that the recipe uses (docs train/validation, spam train)."""
    from llmlab.datasets import load_docs, load_docs_records, load_spam

    texts, labels = load_spam("train")
    records = load_docs_records("train")
    return TrainingData(
        docs_train=[r["text"] for r in records],
        spam_train_texts=list(texts),
        spam_train_labels=list(labels),
        docs_validation=list(load_docs("validation")),
        docs_train_sources=[r["source"] for r in records],
    )


def build_texts(data: TrainingData, *, spam_oversample: int = 1, python_oversample: int = 1) -> list:
    """Return the training documents.

    Every docs train document once, the Python-documentation ones (source ``python/...``, the
    domain of the validation and test splits) ``python_oversample`` times in all, then every
    labelled spam train message ``spam_oversample`` times.
    """
    from llmlab.prompts import format_labelled

    docs = list(data.docs_train)
    if python_oversample > 1 and data.docs_train_sources is not None:
        python = [t for t, s in zip(data.docs_train, data.docs_train_sources)
                  if s.startswith("python/")]
        docs += python * (int(python_oversample) - 1)
    labelled = [format_labelled(t, y) for t, y in zip(data.spam_train_texts, data.spam_train_labels)]
    return docs + labelled * int(spam_oversample)


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def lr_factor(step: int, *, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warmup over ``warmup`` steps, then cosine decay to ``min_ratio`` at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def add_training_dropout(model, p: float) -> list:
    """Apply dropout ``p`` to the embeddings and to each attention and MLP output.

    Forward hooks (GPT-2's embedding and residual dropout): they act only in training mode,
    change nothing in the config or the weights, and are removed with ``handle.remove()``.
    Returns the hook handles.
    """
    import torch

    def hook(module, args, output):
        if not module.training:
            return output
        if isinstance(output, tuple):
            return (torch.nn.functional.dropout(output[0], p, training=True), *output[1:])
        return torch.nn.functional.dropout(output, p, training=True)

    inner = model.model
    handles = [inner.embed_tokens.register_forward_hook(hook)]
    for layer in inner.layers:
        handles.append(layer.self_attn.register_forward_hook(hook))
        handles.append(layer.mlp.register_forward_hook(hook))
    return handles


def train_step(model, optimizer, x, spec):
    """One optimizer step on the batch ``x``: forward and backward (bfloat16 autocast when the
    spec says so), gradient clipping, the optimizer's update. Returns the loss tensor."""
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=spec.autocast_bf16):
        loss = model(input_ids=x, labels=x).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss


def evaluate_loss(model, batches, batch_size: int) -> float:
    """Mean next-token loss (nats) over the fixed validation sequences."""
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(batches), batch_size):
            x = batches[i : i + batch_size]
            logits = model(input_ids=x).logits[:, :-1].float()
            nll = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1), reduction="sum"
            )
            total += nll.item()
            count += x[:, 1:].numel()
    model.train()
    return total / count


def train_model(
    spec,
    out_dir,
    *,
    data: TrainingData | None = None,
    minutes: float | None = None,
    steps: int | None = None,
    threads: int | None = None,
    progress: bool = True,
    probe_steps: int = 6,
    init_from=None,
) -> dict:
    """Train the model described by ``spec`` into ``out_dir``; return a summary dict.

    Give either ``steps`` (a fixed, reproducible step count) or ``minutes`` (a wall-clock
    budget; the step count is planned from a throughput probe). The best-validation
    checkpoint, its tokenizer, ``training_log.csv`` and ``training_summary.json`` end in
    ``out_dir``.

    ``init_from`` (a model folder) starts from that model's weights and tokenizer instead of
    training a tokenizer and initialising at random: the second stage of a two-stage recipe.
    Its ``training_summary.json`` is kept as ``previous_stage`` in the new summary.
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, GenerationConfig
    from transformers.utils import logging as hf_logging

    from training.configs import make_config
    from training.tokenizer import train_tokenizer

    hf_logging.disable_progress_bar()
    t_start = time.time()
    if threads:
        torch.set_num_threads(int(threads))
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    if steps is not None:
        minutes = None
    elif minutes is None:
        minutes = spec.minutes
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(spec.seed)

    if data is None:
        data = load_training_data()
    if spec.instruct and init_from is None:
        raise ValueError(f"{spec.name} is an instruct stage: give init_from, the folder of "
                         f"its base model {spec.instruct['base']!r}")
    texts = build_texts(
        data, spam_oversample=spec.spam_oversample, python_oversample=spec.python_oversample
    )
    tok_texts = build_texts(data, spam_oversample=1)

    previous = None
    if init_from is not None:
        from transformers import AutoTokenizer

        init_from = Path(init_from)
        tokenizer = AutoTokenizer.from_pretrained(init_from)
        if len(tokenizer) != spec.vocab_size:
            raise ValueError(f"{init_from} has {len(tokenizer)} tokens, spec wants {spec.vocab_size}")
        prev_path = init_from / "training_summary.json"
        previous = json.loads(prev_path.read_text()) if prev_path.exists() else None
    else:
        tokenizer = train_tokenizer(tok_texts, spec.vocab_size)
    if spec.instruct:
        tokenizer.chat_template = instruct.CHAT_TEMPLATE
        docs_ids, texts = instruct.instruct_documents(
            tokenizer, data, n_docs_questions=spec.instruct["docs_questions"],
            n_plain_docs=spec.instruct["plain_docs"],
            spam_repeats=spec.instruct.get("spam_repeats", 1), seed=spec.seed)
    else:
        docs_ids = encode_documents(tokenizer, texts)
    n_train_tokens = sum(len(d) for d in docs_ids)
    n_train_bytes = sum(len(t.encode("utf-8")) for t in texts)
    rng = random.Random(spec.seed)
    order = list(range(len(docs_ids)))
    rng.shuffle(order)
    docs_ids = [docs_ids[i] for i in order]
    val = validation_sequences(tokenizer, data.docs_validation, spec.seq_len, spec.val_sequences)
    if spec.instruct:  # half documentation, half labelling conversations (spam validation)
        half = spec.val_sequences // 2
        chat_val = pack(instruct.validation_documents(tokenizer), spec.seq_len)
        val = torch.cat([val[: spec.val_sequences - half], chat_val[:half]])
    if len(val) == 0:
        raise ValueError("validation text is shorter than one sequence")

    config = make_config(
        spec,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(spec.seed)
    if init_from is not None:
        model = AutoModelForCausalLM.from_pretrained(init_from, dtype=torch.float32)
        for key in ("vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size"):
            if getattr(model.config, key) != getattr(config, key):
                raise ValueError(f"{init_from}: {key} differs from the spec")
    else:
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.train()
    if spec.dropout:
        add_training_dropout(model, spec.dropout)
    n_params = sum(p.numel() for p in model.parameters())

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": spec.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=spec.peak_lr,
        betas=tuple(spec.betas),
        eps=1e-8,
    )
    gen = torch.Generator().manual_seed(spec.seed)

    def epoch_batches(epoch):
        offset = 0 if epoch == 0 else int(torch.randint(0, spec.seq_len, (1,), generator=gen))
        seqs = pack(docs_ids, spec.seq_len, offset=offset)
        perm = torch.randperm(len(seqs), generator=gen)
        for i in range(0, len(perm) - spec.batch_size + 1, spec.batch_size):
            yield seqs[perm[i : i + spec.batch_size]]

    def save(step, val_loss):
        model.save_pretrained(out_dir)
        gc = GenerationConfig(
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            do_sample=False,
        )
        gc.save_pretrained(out_dir)
        _readable(out_dir)

    save_tokenizer(tokenizer, out_dir)
    log_path = out_dir / "training_log.csv"

    def log_row(row):
        with open(log_path, "a", newline="") as fh:
            csv.writer(fh).writerow(row)

    log_path.unlink(missing_ok=True)
    log_row(LOG_FIELDS)

    setup_s = time.time() - t_start
    t0 = time.time()
    budget_s = None if minutes is None else float(minutes) * 60.0
    total_steps = int(steps) if steps is not None else None
    if total_steps is None and spec.warmup_steps < probe_steps + 1:
        raise ValueError("warmup_steps must exceed probe_steps so the probe sits in the warmup")
    tokens_per_step = spec.batch_size * spec.seq_len
    adaptive = total_steps is None
    plans, plan_t, plan_step, marks = [], None, 0, []

    t_eval = time.time()
    val_loss = evaluate_loss(model, val, spec.batch_size)
    t_eval = time.time() - t_eval
    best = {"val_loss": val_loss, "step": 0}
    log_row([0, 0, "", f"{val_loss:.5f}", f"{time.time() - t0:.1f}", 0.0])
    save(0, val_loss)

    step, epoch, tokens_seen = 0, 0, 0
    recent, step_times = [], []
    stopped = "planned steps done"
    bar = tqdm(total=total_steps, desc=spec.name, disable=not progress, unit="step")
    done = False
    while not done:
        for x in epoch_batches(epoch):
            if total_steps is not None and step >= total_steps:
                done = True
                break
            plan_total = total_steps if total_steps is not None else 10**9
            factor = lr_factor(
                step, warmup=spec.warmup_steps, total=plan_total, min_ratio=spec.min_lr_ratio
            )
            lr = spec.peak_lr * factor
            for g in optimizer.param_groups:
                g["lr"] = lr
            ts = time.time()
            loss = train_step(model, optimizer, x, spec)
            step_times.append(time.time() - ts)
            step += 1
            tokens_seen += tokens_per_step
            recent.append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.2e}")

            if adaptive and step == probe_steps + 1:
                # Plan: the first step is warm-up noise; use the median of the others.
                per_step = sorted(step_times[1:])[len(step_times[1:]) // 2]
                per_step += t_eval / spec.eval_every
                left = budget_s - (time.time() - t0)
                total_steps = max(step + 1, step + int(left / per_step))
                plan_t, plan_step = time.time(), step
                plans.append({"at_step": step, "total_steps": total_steps})
                bar.total = total_steps
                bar.refresh()

            last = total_steps is not None and step >= total_steps
            if step % spec.eval_every == 0 or last:
                val_loss = evaluate_loss(model, val, spec.batch_size)
                train_loss = sum(recent) / len(recent)
                recent = []
                elapsed = time.time() - t0
                log_row(
                    [step, tokens_seen, f"{train_loss:.5f}", f"{val_loss:.5f}",
                     f"{elapsed:.1f}", f"{lr:.3e}"]
                )
                if val_loss < best["val_loss"]:
                    best = {"val_loss": val_loss, "step": step, "train_loss": train_loss}
                    save(step, val_loss)
                if (adaptive and not last and total_steps is not None and plan_t is not None
                        and plan_step < step < 0.9 * total_steps):
                    # Re-plan on the recent throughput (the machine may be shared): the
                    # cosine then still ends close to the budget. "Recent" = the last
                    # three validation intervals, or everything since the probe if fewer.
                    marks.append((time.time(), step))
                    t_ref, s_ref = marks[-4] if len(marks) >= 4 else (plan_t, plan_step)
                    per_step = (time.time() - t_ref) / (step - s_ref)
                    left = budget_s - (time.time() - t0)
                    new_total = max(step + spec.eval_every, step + int(left / per_step))
                    if abs(new_total - total_steps) > 0.02 * total_steps:
                        total_steps = new_total
                        plans.append({"at_step": step, "total_steps": total_steps})
                        bar.total = total_steps
                        bar.refresh()
                if budget_s is not None and elapsed > 1.15 * budget_s and not last:
                    stopped = "time budget exceeded by 15%: stopped early"
                    done = True
                    break
            if last:
                done = True
                break
        epoch += 1
    bar.close()

    train_s = time.time() - t0
    if init_from is not None and (Path(init_from) / "training_log.csv").exists():
        merge_stage_logs(init_from, out_dir)
    summary = {
        "name": spec.name,
        "architecture": type(model).__name__,
        "n_parameters": n_params,
        "spec": spec.to_dict(),
        "planned_steps": total_steps,
        "step_plan": "fixed" if not adaptive else "planned from measured throughput",
        "plans": plans,
        "budget_minutes": minutes if adaptive else None,
        "steps_run": step,
        "stopped": stopped,
        "epochs_started": epoch,
        "tokens_seen": tokens_seen,
        "train_tokens_per_epoch": n_train_tokens,
        "train_bytes_per_epoch": n_train_bytes,
        "train_documents": len(texts),
        "docs_train_documents": len(data.docs_train),
        "spam_train_messages": len(data.spam_train_texts),
        "validation_tokens": int(val.numel()),
        "best_step": best["step"],
        "best_val_loss": best["val_loss"],
        "best_train_loss": best.get("train_loss"),
        "final_val_loss": val_loss,
        "setup_seconds": round(setup_s, 1),
        "train_seconds": round(train_s, 1),
        "tokens_per_second": round(tokens_seen / max(train_s, 1e-9), 1),
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "data_source": data.source,
        "init_from": None if init_from is None else "previous stage (see previous_stage)",
        "instruct": (None if not spec.instruct else {
            **spec.instruct,
            "spam_conversations": len(data.spam_train_texts) * spec.instruct.get("spam_repeats", 1),
            "chat_template": tokenizer.chat_template}),
        "previous_stage": previous,
    }
    if previous is not None:
        summary["total_train_seconds"] = round(
            train_s + previous.get("total_train_seconds", previous["train_seconds"]), 1)
        summary["total_tokens_seen"] = tokens_seen + previous.get(
            "total_tokens_seen", previous["tokens_seen"])
        summary["total_steps"] = step + previous.get("total_steps", previous["steps_run"])
    else:
        summary["total_train_seconds"] = summary["train_seconds"]
        summary["total_tokens_seen"] = tokens_seen
        summary["total_steps"] = step
    import transformers

    summary["transformers_version"] = transformers.__version__
    (out_dir / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def merge_stage_logs(previous_folder, folder) -> None:
    """Prepend the previous stage's ``training_log.csv`` to this stage's, on one axis.

    The merged log counts ``step``, ``tokens_seen`` and ``elapsed_s`` from the start of the
    first stage and adds a ``stage`` column, so one plot shows the whole training.
    """
    def read(path):
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))

    prev = read(Path(previous_folder) / "training_log.csv")
    cur = read(Path(folder) / "training_log.csv")
    if not prev or not cur or "stage" in (cur[0] or {}):
        return
    for row in prev:
        row.setdefault("stage", "1")
        row["stage"] = row.get("stage") or "1"
    last = prev[-1]
    stage = int(last["stage"]) + 1
    offset = {k: float(last[k]) for k in ("step", "tokens_seen", "elapsed_s")}
    merged = list(prev)
    for row in cur[1:]:  # row 0 re-measures the previous stage's final model
        row = dict(row)
        row["step"] = str(int(row["step"]) + int(offset["step"]))
        row["tokens_seen"] = str(int(row["tokens_seen"]) + int(offset["tokens_seen"]))
        row["elapsed_s"] = f"{float(row['elapsed_s']) + offset['elapsed_s']:.1f}"
        row["stage"] = str(stage)
        merged.append(row)
    with open(Path(folder) / "training_log.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*LOG_FIELDS, "stage"])
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in (*LOG_FIELDS, "stage")} for r in merged)


def _readable(folder) -> None:
    """Make the saved files world-readable (safetensors writes them 0600)."""
    for f in Path(folder).iterdir():
        if f.is_file():
            f.chmod(0o644)


def save_tokenizer(tokenizer, out_dir) -> None:
    """Save the tokenizer so that any transformers >= 4.56 loads it as a fast tokenizer.

    transformers 5 writes ``tokenizer_class: "TokenizersBackend"``, a name 4.x does not know;
    ``PreTrainedTokenizerFast`` loads the same ``tokenizer.json`` in both.
    """
    out_dir = Path(out_dir)
    tokenizer.save_pretrained(out_dir)
    path = out_dir / "tokenizer_config.json"
    cfg = json.loads(path.read_text())
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg["add_bos_token"] = True
    cfg["add_eos_token"] = False
    # No truncation limit on the tokenizer: llmlab.perplexity windows long texts itself.
    cfg.pop("model_max_length", None)
    # The chat template in tokenizer_config.json, where every transformers version reads it
    # (transformers 5 also writes chat_template.jinja; one copy is enough).
    if getattr(tokenizer, "chat_template", None):
        cfg["chat_template"] = tokenizer.chat_template
        (out_dir / "chat_template.jinja").unlink(missing_ok=True)
    # Loading arguments that transformers 5 echoes back when a loaded tokenizer is re-saved.
    for key in ("is_local", "local_files_only", "name_or_path"):
        cfg.pop(key, None)
    path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n")
