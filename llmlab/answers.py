"""Answer matching as in SQuAD: normalisation, exact match and token F1."""

from __future__ import annotations

import re
import string
from collections import Counter

from llmlab.validation import check_param

__all__ = ["exact_match", "normalize_answer", "token_f1"]


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation: lower-case, drop punctuation and articles, squeeze spaces.

    The steps run in the order of the official SQuAD v1.1 evaluation script: lower-case,
    remove every character of ``string.punctuation``, remove the words "a", "an" and "the",
    then split on whitespace and join with single spaces.

    Examples
    --------
    >>> from llmlab.answers import normalize_answer
    >>> normalize_answer("  The Standard-Library's  answer! ")
    'standardlibrarys answer'
    """
    check_param("text", text, [str])
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> float:
    """1.0 if the two answers are equal after :func:`normalize_answer`, else 0.0.

    Examples
    --------
    >>> from llmlab.answers import exact_match
    >>> exact_match("The list.", "list")
    1.0
    >>> exact_match("a list", "lists")
    0.0
    """
    check_param("prediction", prediction, [str])
    check_param("reference", reference, [str])
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    """Token-overlap F1 of two answers, as in SQuAD.

    Both answers are normalised (:func:`normalize_answer`) and split into words. The overlap
    counts each shared word as often as it occurs in both (a multiset intersection);
    precision = overlap / predicted words, recall = overlap / reference words, and F1 is
    their harmonic mean. If either answer is empty after normalisation, F1 is 1.0 when both
    are empty and 0.0 otherwise.

    Examples
    --------
    >>> from llmlab.answers import token_f1
    >>> token_f1("the big cat", "a cat sat")
    0.5
    >>> token_f1("open the file", "Open file!")
    1.0
    """
    check_param("prediction", prediction, [str])
    check_param("reference", reference, [str])
    pred = normalize_answer(prediction).split()
    ref = normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    overlap = sum((Counter(pred) & Counter(ref)).values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred)
    recall = overlap / len(ref)
    return 2 * precision * recall / (precision + recall)

