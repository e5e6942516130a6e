"""Build the bundled downstream-task sets (``llmlab/data/tasks``) from the held-out docs.

Two small task sets, made only from the **validation and test** splits of the docs corpus
(:func:`llmlab.datasets.load_docs_records`), which the bundled models never trained on:

* **Cloze multiple choice** (``mc_{split}.jsonl``). From a prose line of a document, one
  content word is blanked out. The question's ``context`` is the document's text up to the
  blank (its last :data:`MAX_CONTEXT_CHARS` characters at most, cut at a line start, so it
  fits the models' 512-token context); the four ``choices`` are the true word and three
  distractors, each written as the continuation ``" word"`` (a space, then the word).
  Distractors are words of the same *kind* (see :func:`word_kind`) drawn from the same
  split's documents, never a word that occurs anywhere in the question's own document, so a
  distractor rarely fits the blank as well as the true word. The correct choice's position is
  drawn by the seed. At most :data:`QUESTIONS_PER_DOC` questions per document, from different
  lines.
* **Summaries** (``summaries_{split}.jsonl``). A docstring whose first paragraph is a single
  summary sentence (ends with ".", 4 to 40 words) followed by a body of
  :data:`MIN_BODY_CHARS` to :data:`MAX_BODY_CHARS` characters: ``document`` is the body,
  ``summary`` the summary sentence (whitespace squeezed). The body is never cut; longer ones
  are left out. The ``pydoc`` topic texts (``python/topics/...``) start with a title, not a
  summary, and are skipped.

**Decontamination.** The bundled models trained on the docs' training split, and docstrings
repeat boilerplate (the ``os`` functions' paragraph about ``path``, ``keys``/``values``/``items``
triplets), so held-out text can still appear in training text. A cloze candidate is skipped
when the :data:`NGRAM` words ending with its answer occur in the training split, and a summary
pair is left out when its body or its summary shares any :data:`NGRAM`-word n-gram with it
(lower-cased words split on whitespace). The manifest counts what was skipped.

Deterministic: a :class:`random.Random` seeded with ``f"{SEED}:{split}"`` makes every choice,
and two builds give byte-identical files. Run it with::

    python -m training.tasks_data --out llmlab/data/tasks

The provenance note is ``llmlab/data/tasks/README.md``; ``manifest.json`` holds the counts and
the SHA-256 of every file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path

SEED = 20240605
#: The docs splits the task sets are built from (never "train").
SPLITS = ("validation", "test")
#: Longest question context, in characters (at most about 430 tokens for the bundled tokenizers).
MAX_CONTEXT_CHARS = 800
#: Shortest question context, in characters.
MIN_CONTEXT_CHARS = 80
#: At most this many cloze questions per document.
QUESTIONS_PER_DOC = 3
#: Number of choices per question (the true word and N - 1 distractors).
N_CHOICES = 4
#: Summary pairs: the body's length range, in characters.
MIN_BODY_CHARS = 150
MAX_BODY_CHARS = 1200
#: Summary pairs: the summary sentence's length range, in words.
SUMMARY_WORDS = (4, 40)
#: Decontamination: word n-grams (lower-cased, split on whitespace) shared with the training
#: split disqualify a question or a pair (13, as in the GPT-3 paper's overlap analysis).
NGRAM = 13

#: Function words and docstring boilerplate never blanked out (nor used as distractors).
STOPWORDS = frozenset(
    """
    about above after again against also although among another because been before being
    below between both cannot could does doing done down during each either else even ever
    every from further have having here hers herself himself however into itself just least
    less many might more most much must neither never none nothing once only other others
    otherwise ours ourselves over same several shall should since some such than that their
    theirs them themselves then there therefore these they this those though through thus
    till under unless until upon very were what whatever when whenever where whereas whether
    which while whom whose will with within without would your yours yourself yourselves
    true false none self default optional returns return note example examples value values
    used uses using
    """.split()
)

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_AFTER_OK = set(" \n.,;:)!?'\"")


def word_kind(word: str) -> str | None:
    """The kind of a candidate word, or None if it is not a candidate.

    Kinds: ``"identifier"`` (has ``_``, a digit or an inner capital: ``token_urlsafe``,
    ``addstr2``, ``getBuffer``), ``"upper"`` (all capitals, 3+ letters: ``FILENAME``),
    ``"capitalized"`` (``Python``), and for plain lower-case words of 4+ letters a kind by
    ending, a cheap stand-in for the part of speech: ``"word-s"``, ``"word-ed"``,
    ``"word-ing"``, ``"word-ly"``, ``"word"``.

    Examples
    --------
    >>> [word_kind(w) for w in ["token_urlsafe", "FILENAME", "Python", "returns", "the", "file"]]
    ['identifier', 'upper', 'capitalized', None, None, 'word']
    >>> word_kind("matches")
    'word-s'
    """
    if len(word) < 4 and not (word.isupper() and len(word) >= 3):
        return None
    if word.lower() in STOPWORDS:
        return None
    if "_" in word or any(c.isdigit() for c in word) or any(c.isupper() for c in word[1:]):
        if word.isupper() and word.replace("_", "").isalpha():
            return "upper"
        if word.strip("_") == "" or word.startswith("__"):
            return None  # dunder names and underscores only
        return "identifier"
    if word.isupper():
        return "upper"
    if word[0].isupper():
        return "capitalized"
    if not word.isalpha():
        return None
    for suffix in ("ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) > len(suffix) + 3:
            return "word-" + suffix
    if word.endswith("s") and not word.endswith("ss"):
        return "word-s"
    return "word"


def _is_prose_line(line: str) -> bool:
    s = line.strip()
    if not s or s.startswith((">>>", "...", "*", "-", "#", ":", "=", "|", "`")):
        return False
    if "::=" in s or "(" in s and s.endswith(")") and " " not in s:
        return False
    if line.startswith("    ") and not line.startswith("     "):
        # An indented block of exactly 4 spaces is usually code in these docs; keep only
        # flush or lightly indented prose.
        return False
    letters = sum(c.isalpha() or c == " " for c in s)
    return len(s) >= 30 and letters / len(s) > 0.85


def _candidates(text: str) -> list[tuple[int, int, str, str]]:
    """``(line index, start offset, word, kind)`` for every blankable word in ``text``."""
    out = []
    offset = 0
    for li, line in enumerate(text.split("\n")):
        if _is_prose_line(line):
            for m in _WORD.finditer(line):
                start = offset + m.start()
                word = m.group()
                kind = word_kind(word)
                if kind is None or kind == "capitalized" and _sentence_start(text, start):
                    continue
                if start < MIN_CONTEXT_CHARS or text[start - 1] != " ":
                    continue
                end = start + len(word)
                if end < len(text) and text[end] not in _AFTER_OK:
                    continue
                if text[end : end + 1] == "'" and text[end + 1 : end + 2].isalpha():
                    continue  # "doesn't": not a word of its own
                out.append((li, start, word, kind))
        offset += len(line) + 1
    return out


def _sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in ".!?:\n"


def _cut_context(prefix: str) -> tuple[str, bool]:
    """The last ``MAX_CONTEXT_CHARS`` characters of ``prefix``, starting at a line start."""
    if len(prefix) <= MAX_CONTEXT_CHARS:
        return prefix, False
    cut = len(prefix) - MAX_CONTEXT_CHARS
    newline = prefix.find("\n", cut)
    if newline == -1 or len(prefix) - newline - 1 < MIN_CONTEXT_CHARS:
        space = prefix.find(" ", cut)
        return prefix[space + 1 :], True
    return prefix[newline + 1 :], True


def _doc_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def ngrams(text: str, n: int = NGRAM) -> set[tuple[str, ...]]:
    """The set of word ``n``-grams of ``text`` (lower-cased, split on whitespace)."""
    words = text.lower().split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def build_multiple_choice(
    records: list[dict], split: str, seed: int = SEED, train_grams: frozenset = frozenset()
) -> tuple[list[dict], int]:
    """Cloze questions from ``records`` (one docs split); see the module docstring.

    A candidate blank is skipped when the :data:`NGRAM` words ending with the answer occur in
    ``train_grams`` (the model may have memorised the answer). Returns the questions and the
    number of candidates skipped that way.
    """
    rng = random.Random(f"{seed}:{split}:mc")
    skipped = 0
    # The pool of each kind: every candidate word of the split, in first-seen order.
    pool: dict[str, list[str]] = {}
    seen: set[str] = set()
    for rec in records:
        for _, _, word, kind in _candidates(rec["text"]):
            if word not in seen:
                seen.add(word)
                pool.setdefault(kind, []).append(word)
    questions = []
    for rec in records:
        text = rec["text"]
        cands = _candidates(text)
        if not cands:
            continue
        banned = _doc_words(text)
        rng.shuffle(cands)
        used_lines: set[int] = set()
        made = 0
        for li, start, word, kind in cands:
            if made == QUESTIONS_PER_DOC:
                break
            if li in used_lines:
                continue
            window = tuple((text[: start - 1] + " " + word).lower().split()[-NGRAM:])
            if window in train_grams:
                skipped += 1
                continue
            options = [w for w in pool.get(kind, []) if w.lower() not in banned]
            if len(options) < N_CHOICES - 1:
                continue
            distractors = rng.sample(options, N_CHOICES - 1)
            label = rng.randrange(N_CHOICES)
            words = distractors[:label] + [word] + distractors[label:]
            context, cut = _cut_context(text[: start - 1])
            used_lines.add(li)
            made += 1
            questions.append(
                {
                    "source": rec["source"],
                    "context": context,
                    "choices": [" " + w for w in words],
                    "label": label,
                    "answer": word,
                    "kind": kind,
                    "context_cut": cut,
                }
            )
    for i, q in enumerate(questions):
        q["id"] = f"mc-{split}-{i:04d}"
    return [{"id": q.pop("id"), **q} for q in questions], skipped


def build_summaries(
    records: list[dict], split: str, train_grams: frozenset = frozenset()
) -> tuple[list[dict], int]:
    """(body, summary sentence) pairs from ``records``; see the module docstring.

    A pair is left out when its body or its summary shares a :data:`NGRAM`-word n-gram with
    ``train_grams`` (boilerplate paragraphs shared with a training docstring, such as the one
    ``os`` functions repeat about ``path``). Returns the pairs and the number left out.
    """
    pairs = []
    skipped = 0
    for rec in records:
        if rec["source"].startswith("python/topics/"):
            continue
        parts = rec["text"].split("\n\n", 1)
        if len(parts) < 2:
            continue
        head, body = parts
        summary = " ".join(head.split())
        body = body.strip("\n")
        n_words = len(summary.split())
        if not summary.endswith(".") or not SUMMARY_WORDS[0] <= n_words <= SUMMARY_WORDS[1]:
            continue
        # One sentence: no ". " inside (abbreviations like "e.g." are rare in these heads).
        if re.search(r"[.!?]\s+[A-Z]", summary[:-1]):
            continue
        if not MIN_BODY_CHARS <= len(body) <= MAX_BODY_CHARS:
            continue
        if (ngrams(body) | ngrams(summary)) & train_grams:
            skipped += 1
            continue
        pairs.append({"source": rec["source"], "document": body, "summary": summary})
    return [{"id": f"sum-{split}-{i:04d}", **p} for i, p in enumerate(pairs)], skipped


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def build(out_dir: str | Path, *, seed: int = SEED, log=print) -> dict:
    """Write ``mc_*.jsonl``, ``summaries_*.jsonl`` and ``manifest.json``; return the manifest."""
    from llmlab.datasets import load_docs_records

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict = {
        "name": "llmlab downstream tasks (cloze multiple choice, docstring summaries)",
        "source": "llmlab docs corpus, validation and test splits (Python 3.11.7 docs)",
        "licence": "PSF-2.0 (Python Software Foundation License), like the source texts",
        "built_with": {
            "script": "training/tasks_data.py",
            "seed": seed,
            "python": ".".join(map(str, sys.version_info[:3])),
        },
        "recipe": {
            "max_context_chars": MAX_CONTEXT_CHARS,
            "min_context_chars": MIN_CONTEXT_CHARS,
            "questions_per_doc": QUESTIONS_PER_DOC,
            "n_choices": N_CHOICES,
            "body_chars": [MIN_BODY_CHARS, MAX_BODY_CHARS],
            "summary_words": list(SUMMARY_WORDS),
            "decontamination": f"no {NGRAM}-word n-gram (lower-cased, whitespace-split) shared "
            "with the train split: the n-gram ending with a question's answer, or any n-gram "
            "of a summary pair",
        },
        "files": {},
    }
    train_grams: set = set()
    for rec in load_docs_records("train"):
        train_grams |= ngrams(rec["text"])
    train_grams = frozenset(train_grams)
    for split in SPLITS:
        records = load_docs_records(split)
        mc, mc_skipped = build_multiple_choice(records, split, seed, train_grams)
        summaries, sum_skipped = build_summaries(records, split, train_grams)
        skipped = {"mc": mc_skipped, "summaries": sum_skipped}
        for name, rows in (("mc", mc), ("summaries", summaries)):
            data = _jsonl(rows)
            fname = f"{name}_{split}.jsonl"
            (out_dir / fname).write_bytes(data)
            entry = {
                "rows": len(rows),
                "documents": len({r["source"] for r in rows}),
                "of_documents": len(records),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "skipped_train_overlap": skipped[name],
            }
            if name == "mc":
                labels = [r["label"] for r in rows]
                entry["label_counts"] = [labels.count(k) for k in range(N_CHOICES)]
                kinds: dict[str, int] = {}
                for r in rows:
                    kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
                entry["kinds"] = dict(sorted(kinds.items()))
                entry["contexts_cut"] = sum(r["context_cut"] for r in rows)
            manifest["files"][fname] = entry
            log(f"{fname}: {len(rows)} rows from {entry['documents']} documents")
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="build the downstream-task sets from held-out docs"
    )
    parser.add_argument("--out", default="llmlab/data/tasks", help="output folder")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    build(args.out, seed=args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
