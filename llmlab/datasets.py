"""The data bundled with llmlab: a documentation corpus and a labelled SMS spam set.

Both are frozen files inside the package (``llmlab/data``), read with
:mod:`importlib.resources`, so they work offline and give the same texts on every machine.
Their provenance, licences and the recipes that made them are in ``llmlab/data/README.md``
and in :func:`data_card`.

* :func:`load_docs` -- real technical prose: Python's own documentation (validation and test
  splits are Python docs only), plus numpy / scipy / scikit-learn / matplotlib docstrings in
  the training split. Built by :mod:`training.corpus`.
* :func:`load_spam` -- **synthetic** SMS-style messages labelled ``"ham"`` or ``"spam"``
  (about 13 % spam), with a rare-class test variant (about 2 % spam). Built by
  :mod:`training.spam_data`.
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import warnings
from importlib import resources

from llmlab.validation import check_option

__all__ = ["DOCS_SPLITS", "SPAM_SPLITS", "SPAM_VARIANTS", "TASK_SPLITS", "data_card",
           "load_docs", "load_docs_records", "load_multiple_choice", "load_spam",
           "load_summaries"]

#: The splits of the docs corpus.
DOCS_SPLITS = ("train", "validation", "test")
#: The splits of the spam set.
SPAM_SPLITS = ("train", "validation", "test")
#: The variants of the spam set; ``"rare"`` exists for the test split only.
SPAM_VARIANTS = ("natural", "rare")
#: The splits of the bundled task sets (built from the docs splits of the same names).
TASK_SPLITS = ("validation", "test")


def check_choice(name: str, value, allowed: tuple) -> None:
    """Deprecated: :func:`llmlab.validation.check_option` does this job for the library."""
    warnings.warn("llmlab.datasets.check_choice is deprecated: use "
                  "llmlab.validation.check_option (same arguments); check_choice stops "
                  "working in the next release.", FutureWarning, stacklevel=2)
    check_option(name, value, allowed)


def _data_file(*parts: str):
    return resources.files("llmlab").joinpath("data", *parts)


def load_docs_records(split: str) -> list[dict]:
    """Load one split of the docs corpus with each text's source.

    Parameters
    ----------
    split : {"train", "validation", "test"}
        Which split to load.

    Returns
    -------
    list of dict
        One ``{"text": str, "source": str}`` per document, in the frozen order. ``source``
        names where the text came from, e.g. ``"python/json.dumps"`` or
        ``"python/topics/assert"``.

    Raises
    ------
    ValueError
        If ``split`` is not one of the allowed splits.

    Examples
    --------
    >>> from llmlab.datasets import load_docs_records
    >>> records = load_docs_records("test")
    >>> sorted(records[0])
    ['source', 'text']
    >>> all(r["source"].startswith("python/") for r in records)
    True
    """
    check_option("split", split, DOCS_SPLITS)
    raw = _data_file("docs", f"{split}.jsonl.xz").read_bytes()
    text = lzma.decompress(raw).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line]


def load_docs(split: str) -> list[str]:
    """Load one split of the documentation corpus as a list of texts.

    The validation and test splits are Python's own documentation only (standard library
    docstrings and the ``pydoc`` topic help texts); the training split adds docstrings of
    numpy, scipy, scikit-learn and matplotlib. Exact and near duplicates never straddle two
    splits.

    Parameters
    ----------
    split : {"train", "validation", "test"}
        Which split to load.

    Returns
    -------
    list of str
        The documents, one string each.

    Raises
    ------
    ValueError
        If ``split`` is not one of the allowed splits.

    See Also
    --------
    load_docs_records : the same documents with their sources.

    Examples
    --------
    >>> from llmlab.datasets import load_docs
    >>> texts = load_docs("validation")
    >>> len(texts) > 50
    True
    >>> isinstance(texts[0], str)
    True
    >>> load_docs("dev")
    Traceback (most recent call last):
    ...
    llmlab.validation.InvalidParameterError: split='dev' is not supported; choose one of
    ['train', 'validation', 'test'].
    """
    return [record["text"] for record in load_docs_records(split)]


def load_spam(split: str, *, variant: str = "natural") -> tuple[list[str], list[str]]:
    """Load one split of the synthetic SMS spam set.

    The messages are **synthetic**: generated from templates by
    :mod:`training.spam_data`, not collected from real people.

    Parameters
    ----------
    split : {"train", "validation", "test"}
        Which split to load.
    variant : {"natural", "rare"}, default="natural"
        ``"natural"`` keeps the set's spam rate (about 13 %). ``"rare"`` is a test-only variant
        with about 2 % spam (all test ham and a subset of the test spam), for seeing how
        accuracy hides a rare class.

    Returns
    -------
    texts : list of str
        The messages.
    labels : list of str
        ``"ham"`` or ``"spam"``, one per message.

    Raises
    ------
    ValueError
        If ``split`` or ``variant`` is not allowed, or if ``variant="rare"`` is asked for a
        split other than ``"test"``.

    Examples
    --------
    >>> from llmlab.datasets import load_spam
    >>> texts, labels = load_spam("test")
    >>> len(texts) == len(labels)
    True
    >>> sorted(set(labels))
    ['ham', 'spam']
    >>> rare_texts, rare_labels = load_spam("test", variant="rare")
    >>> rare_labels.count("spam") < labels.count("spam")
    True
    """
    check_option("split", split, SPAM_SPLITS)
    check_option("variant", variant, SPAM_VARIANTS)
    if variant == "rare" and split != "test":
        raise ValueError(
            f"variant='rare' exists only for split='test', not split={split!r}; "
            "use variant='natural' for 'train' and 'validation'."
        )
    name = "test_rare" if variant == "rare" else split
    raw = _data_file("spam", f"{name}.csv").read_text(encoding="utf-8")
    texts: list[str] = []
    labels: list[str] = []
    for row in csv.DictReader(io.StringIO(raw, newline="")):
        texts.append(row["text"])
        labels.append(row["label"])
    return texts, labels


def data_card() -> dict:
    """Return the provenance of the bundled data as a dict.

    Returns
    -------
    dict
        ``{"docs": <docs manifest>, "spam": <spam manifest>}``: sources, versions, licences,
        recipe settings, split sizes and SHA-256 checksums of the frozen files. A part whose
        manifest is missing is ``None``.

    Examples
    --------
    >>> from llmlab.datasets import data_card
    >>> card = data_card()
    >>> card["docs"]["sources"]["python"]["licence"]
    'PSF-2.0 (Python Software Foundation License)'
    >>> card["spam"]["synthetic"]
    True
    """
    card: dict = {}
    for part in ("docs", "spam"):
        path = _data_file(part, "manifest.json")
        card[part] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    return card


# Bundled task sets, built from the held-out docs by training.tasks_data

def _read_jsonl(name: str) -> list[dict]:
    text = _data_file("tasks", name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line]


def load_multiple_choice(split: str = "test") -> list[dict]:
    """Load the bundled cloze multiple-choice questions.

    Each question blanks out one word of a held-out Python docstring (the docs corpus'
    validation or test split, which the bundled models never trained on). The model sees the
    text before the blank and must prefer the true word over three distractors of the same
    kind. How they were made: ``llmlab/data/tasks/README.md``.

    Parameters
    ----------
    split : {"validation", "test"}, default="test"
        Which set to load.

    Returns
    -------
    list of dict
        One dict per question: ``id``, ``source`` (the document it came from), ``context``
        (the text before the blank), ``choices`` (four continuations such as ``" file"``),
        ``label`` (index of the true choice), ``answer`` (the true word), ``kind`` (the word
        kind the distractors share) and ``context_cut`` (whether the start of the document
        was cut to fit the context limit).

    Raises
    ------
    ValueError
        If ``split`` is not one of the allowed splits.

    Examples
    --------
    >>> from llmlab.datasets import load_multiple_choice
    >>> questions = load_multiple_choice("test")
    >>> q = questions[0]
    >>> len(q["choices"]), q["choices"][q["label"]] == " " + q["answer"]
    (4, True)
    >>> load_multiple_choice("train")
    Traceback (most recent call last):
    ...
    llmlab.validation.InvalidParameterError: split='train' is not supported; choose one of
    ['validation', 'test'].
    """
    check_option("split", split, TASK_SPLITS)
    return _read_jsonl(f"mc_{split}.jsonl")


def load_summaries(split: str = "test") -> list[dict]:
    """Load the bundled summarization pairs (docstring body -> its summary line).

    Parameters
    ----------
    split : {"validation", "test"}, default="test"
        Which set to load.

    Returns
    -------
    list of dict
        One dict per pair: ``id``, ``source``, ``document`` (the docstring without its first
        paragraph) and ``summary`` (that first paragraph, a one-sentence summary written by
        the docstring's authors, whitespace squeezed).

    Raises
    ------
    ValueError
        If ``split`` is not one of the allowed splits.

    Examples
    --------
    >>> from llmlab.datasets import load_summaries
    >>> pairs = load_summaries("test")
    >>> sorted(pairs[0])
    ['document', 'id', 'source', 'summary']
    >>> pairs[0]["summary"].endswith(".")
    True
    """
    check_option("split", split, TASK_SPLITS)
    return _read_jsonl(f"summaries_{split}.jsonl")
