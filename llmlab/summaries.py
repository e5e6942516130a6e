"""Summaries: greedy generation from a prompt (on any backend), the lead baseline, and ROUGE.

Accuracy does not apply to a summary (there is no single right one); ROUGE counts the words
and word pairs it shares with a reference summary, through the ``rouge-score`` package.
"""

from __future__ import annotations

import math
import re

from llmlab.backends import as_backend
from llmlab.backends.base import check_prompt_lengths
from llmlab.prompts import SUMMARY_TEMPLATE, check_template, render_prompts
from llmlab.validation import check_positive_int, check_str_list

__all__ = ["ROUGE_TYPES", "lead_baseline", "rouge", "summarize"]

#: The ROUGE variants :func:`rouge` reports by default.
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def rouge(predictions, references, *, rouge_types=ROUGE_TYPES, use_stemmer=True) -> dict:
    """Mean ROUGE F-measures of predictions against references (``rouge-score`` package).

    A thin wrapper on Google's ``rouge_score.rouge_scorer.RougeScorer``: each pair is scored
    with ``scorer.score(reference, prediction)`` (the package takes the *target* first) and
    the F-measures are averaged over the pairs. The package lower-cases, keeps letters and
    digits only, and with ``use_stemmer=True`` applies the Porter stemmer.

    * ``rouge1`` / ``rouge2``: overlap of unigrams / bigrams;
    * ``rougeL``: longest common subsequence of the tokens.

    Parameters
    ----------
    predictions : list of str
        The system's outputs (an empty string scores 0).
    references : list of str
        One reference per prediction.
    rouge_types : sequence of str, default=("rouge1", "rouge2", "rougeL")
    use_stemmer : bool, default=True

    Returns
    -------
    dict
        ``{rouge_type: mean F-measure}``, each in [0, 1].

    Raises
    ------
    ValueError
        If the lists are empty or of different lengths, or a rouge type is unknown.

    Examples
    --------
    >>> from llmlab.summaries import rouge
    >>> scores = rouge(["the cat is on a mat"], ["the cat sat on the mat"])
    >>> {k: round(v, 4) for k, v in scores.items()}
    {'rouge1': 0.6667, 'rouge2': 0.2, 'rougeL': 0.6667}
    """
    from rouge_score import rouge_scorer

    predictions = check_str_list(predictions, "predictions", allow_empty_items=True)
    references = check_str_list(references, "references")
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions has {len(predictions)} entries but references has {len(references)}"
        )
    if isinstance(rouge_types, str):
        rouge_types = (rouge_types,)
    rouge_types = tuple(rouge_types)
    allowed = ("rouge1", "rouge2", "rouge3", "rouge4", "rougeL", "rougeLsum")
    for t in rouge_types:
        if t not in allowed:
            raise ValueError(f"rouge type {t!r} is unknown; use some of {', '.join(allowed)}")
    if not rouge_types:
        raise ValueError("rouge_types is empty")
    if use_stemmer not in (True, False):
        raise ValueError(f"use_stemmer={use_stemmer!r} must be True or False")
    scorer = rouge_scorer.RougeScorer(list(rouge_types), use_stemmer=use_stemmer)
    totals = {t: [] for t in rouge_types}
    for pred, ref in zip(predictions, references):
        result = scorer.score(ref, pred)
        for t in rouge_types:
            totals[t].append(result[t].fmeasure)
    return {t: math.fsum(v) / len(v) for t, v in totals.items()}


_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def lead_baseline(text: str, *, n_words: int | None = None) -> str:
    """The "lead" summary: the text's first sentence, or its first ``n_words`` words.

    The classic extractive baseline for summarization (news summaries are hard to beat with
    the lead). Whitespace is squeezed to single spaces.

    Parameters
    ----------
    text : str
        The document.
    n_words : int, optional
        If given, return the first ``n_words`` words instead of the first sentence.

    Returns
    -------
    str

    Examples
    --------
    >>> from llmlab.summaries import lead_baseline
    >>> lead_baseline("Open a file.  It is\\nread in binary mode. Done")
    'Open a file.'
    >>> lead_baseline("Open a file.  It is read in binary mode.", n_words=4)
    'Open a file. It'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    words = text.split()
    if n_words is not None:
        n_words = check_positive_int("n_words", n_words)
        return " ".join(words[:n_words])
    squeezed = " ".join(words)
    m = _SENTENCE_END.search(squeezed)
    return squeezed if m is None else squeezed[: m.end()]


def summarize(
    model,
    tokenizer,
    texts,
    *,
    template=SUMMARY_TEMPLATE,
    max_new_tokens=24,
    batch_size=8,
):
    """Greedy summaries: the model continues ``template.format(text=text)``.

    Each text is wrapped in the template, encoded with special tokens and continued greedily
    (the most likely token every step, so the output is deterministic) for at most
    ``max_new_tokens`` new tokens, by the backend's :meth:`~llmlab.backends.base.Backend.
    generate`: a transformers model, a GGUF file run by llama.cpp, or a served model. The
    summary is the generated text up to its first line break, stripped.

    Parameters
    ----------
    model : transformers causal LM or llmlab.backends.Backend
        A loaded model, a llama.cpp model or a served model (not modified).
    tokenizer : transformers tokenizer
        The model's tokenizer (may be None for a backend that has its own).
    texts : str or list of str
        The documents.
    template : str or list of dict, default="{text}\\n\\nSummary:"
        The prompt; must contain ``{text}``. Chat messages are rendered with the
        tokenizer's chat template, as in :func:`llmlab.classify`.
    max_new_tokens : int, default=24
        At most this many tokens are generated per text.
    batch_size : int, default=8
        Prompts per engine call (speed and memory; greedy outputs do not depend on it
        beyond float rounding).

    Returns
    -------
    list of str
        One summary per text (possibly empty).

    Raises
    ------
    ValueError
        If a prompt plus ``max_new_tokens`` does not fit the model's context length.

    Examples
    --------
    >>> import llmlab
    >>> from llmlab.summaries import summarize
    >>> model = llmlab.load_model("tiny-llama")  # doctest: +SKIP
    >>> tok = llmlab.load_tokenizer("tiny-llama")  # doctest: +SKIP
    >>> summarize(model, tok, ["Open the file and return a stream."])  # doctest: +SKIP
    ['...']
    """
    if isinstance(texts, str):
        texts = [texts]
    texts = check_str_list(texts, "texts")
    check_template(template)
    check_positive_int("max_new_tokens", max_new_tokens)
    check_positive_int("batch_size", batch_size)
    backend = as_backend(model, tokenizer)
    encoded = render_prompts(backend.require_tokenizer("summarize"), template, texts)
    check_prompt_lengths(encoded, max_new_tokens, backend.context_length, name="texts")
    generations = backend.generate(encoded, max_new_tokens=max_new_tokens,
                                   batch_size=batch_size)
    return [g.text.strip().split("\n", 1)[0].strip() for g in generations]
