"""Downstream tasks: multiple-choice accuracy by log-likelihood, summaries scored with ROUGE.

Perplexity says how well a model predicts text; a task metric says whether it does a job.
This module holds the task side:

* **Multiple choice, scored by log-likelihood** (as evaluation harnesses do). For each
  question the model reads the ``context`` and every choice is scored by the summed
  log-probability of its tokens as a continuation. The prediction is the most likely choice
  (*acc*), or the most likely per byte of the choice (*acc_norm*), so that long choices are
  not punished for having more tokens to pay for. :func:`score_choices`,
  :func:`multiple_choice_accuracy`, :func:`evaluate_multiple_choice`.
* **Summaries, scored with ROUGE** (the ``rouge-score`` package): :func:`summarize`
  (greedy generation), :func:`lead_baseline` (the first sentence), :func:`rouge`.
* **Answer matching** as in SQuAD: :func:`normalize_answer`, :func:`exact_match`,
  :func:`token_f1`.
* The bundled task sets, built from the held-out docs by
  :mod:`llmlab.training.tasks_data`: :func:`load_multiple_choice`, :func:`load_summaries`.

The model and the tokenizer are never modified, and nothing is ever truncated silently: an
input that does not fit the model's context raises ``ValueError``.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter
from dataclasses import dataclass
from importlib import resources

import numpy as np

from llmlab.datasets import _check_choice
from llmlab.scoring import (
    check_batch_size,
    continuation_requests,
    model_context_length,
    model_device,
    score_requests,
)

__all__ = [
    "ROUGE_TYPES",
    "SUMMARY_TEMPLATE",
    "TASK_SPLITS",
    "ChoiceScores",
    "MultipleChoiceResult",
    "evaluate_multiple_choice",
    "exact_match",
    "lead_baseline",
    "load_multiple_choice",
    "load_summaries",
    "multiple_choice_accuracy",
    "normalize_answer",
    "rouge",
    "score_choices",
    "summarize",
    "token_f1",
]

#: The splits of the bundled task sets (built from the docs splits of the same names).
TASK_SPLITS = ("validation", "test")
#: The ROUGE variants :func:`rouge` reports by default.
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
#: The prompt :func:`summarize` wraps a document in; ``{text}`` is the document. Chosen on the
#: *validation* pairs among five candidates ("Summary:", "In short:", "TL;DR:", "In one
#: sentence:", "Text: ... One-line summary:"), by the bundled models' mean ROUGE-L.
SUMMARY_TEMPLATE = "{text}\n\nSummary:"


# --------------------------------------------------------------------------------------
# Bundled data
# --------------------------------------------------------------------------------------


def _check_split(split) -> None:
    _check_choice("split", split, TASK_SPLITS)


def _read_jsonl(name: str) -> list[dict]:
    text = resources.files("llmlab").joinpath("data", "tasks", name).read_text(encoding="utf-8")
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
    >>> from llmlab.tasks import load_multiple_choice
    >>> questions = load_multiple_choice("test")
    >>> q = questions[0]
    >>> len(q["choices"]), q["choices"][q["label"]] == " " + q["answer"]
    (4, True)
    >>> load_multiple_choice("train")
    Traceback (most recent call last):
    ...
    ValueError: split='train' is not valid; expected one of 'validation', 'test'.
    """
    _check_split(split)
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
    >>> from llmlab.tasks import load_summaries
    >>> pairs = load_summaries("test")
    >>> sorted(pairs[0])
    ['document', 'id', 'source', 'summary']
    >>> pairs[0]["summary"].endswith(".")
    True
    """
    _check_split(split)
    return _read_jsonl(f"summaries_{split}.jsonl")


# --------------------------------------------------------------------------------------
# Multiple choice by log-likelihood
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChoiceScores:
    """What :func:`score_choices` measured, one entry per question.

    Attributes
    ----------
    loglikelihoods : list of ndarray of float64
        For each question, the summed log-probability (nats) of each choice's tokens given
        the context.
    n_tokens : list of ndarray of int
        Each choice's length in tokens (as scored).
    n_bytes : list of ndarray of int
        Each choice's length in UTF-8 bytes (the continuation string as given, leading space
        included).
    """

    loglikelihoods: list
    n_tokens: list
    n_bytes: list

    def __len__(self) -> int:
        return len(self.loglikelihoods)

    def predict(self, *, normalize: bool = False) -> np.ndarray:
        """Index of the chosen choice per question.

        ``normalize=False`` takes the highest summed log-likelihood; ``normalize=True`` the
        highest log-likelihood per byte (``loglikelihood / n_bytes``). Ties go to the first
        choice, as ``numpy.argmax`` does.
        """
        if normalize not in (True, False):
            raise ValueError(f"normalize={normalize!r} must be True or False")
        out = []
        for ll, nb in zip(self.loglikelihoods, self.n_bytes):
            score = ll / nb if normalize else ll
            out.append(int(np.argmax(score)))
        return np.asarray(out, dtype=np.int64)


@dataclass(frozen=True)
class MultipleChoiceResult:
    """Accuracy of multiple-choice predictions, lm-evaluation-harness style.

    Attributes
    ----------
    acc : float
        Share of questions whose highest-log-likelihood choice is the true one.
    acc_norm : float
        The same with each choice's log-likelihood divided by its length in bytes.
    acc_stderr, acc_norm_stderr : float
        Standard errors of the two means (sample standard deviation / sqrt(n), as the
        harness reports them).
    chance : float
        Expected accuracy of guessing uniformly: the mean of ``1 / n_choices``.
    n_questions : int
    labels : ndarray of int
        The true choice per question.
    pred, pred_norm : ndarray of int
        The chosen choice per question, without and with length normalisation.
    scores : ChoiceScores
        The log-likelihoods and lengths the predictions came from.
    """

    acc: float
    acc_norm: float
    acc_stderr: float
    acc_norm_stderr: float
    chance: float
    n_questions: int
    labels: np.ndarray
    pred: np.ndarray
    pred_norm: np.ndarray
    scores: ChoiceScores

    @property
    def margins(self) -> np.ndarray:
        """Per question: log-likelihood of the true choice minus that of the best wrong one.

        Positive where ``acc`` counts the question as right (ties aside).
        """
        out = []
        for ll, y in zip(self.scores.loglikelihoods, self.labels):
            others = np.delete(ll, y)
            out.append(ll[y] - others.max())
        return np.asarray(out, dtype=np.float64)

    def __repr__(self) -> str:
        return (
            f"MultipleChoiceResult(acc={self.acc:.3f} ± {self.acc_stderr:.3f}, "
            f"acc_norm={self.acc_norm:.3f} ± {self.acc_norm_stderr:.3f}, "
            f"chance={self.chance:.3f}, n_questions={self.n_questions})"
        )


def _check_str_list(values, name: str, *, allow_empty_items: bool = False) -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"{name} must be a list of strings, got the string {values[:40]!r}")
    if values is None:
        raise ValueError(f"{name} is None; pass a list of strings")
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"{name} must be a list of strings, got {type(values).__name__}") from None
    if not values:
        raise ValueError(f"{name} is empty; pass at least one string")
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise TypeError(f"{name}[{i}] is a {type(v).__name__}, not a str")
        if not allow_empty_items and not v.strip():
            raise ValueError(f"{name}[{i}] is empty or only whitespace")
    return values


def _check_choices(contexts, choices_list) -> tuple[list[str], list[list[str]]]:
    contexts = _check_str_list(contexts, "contexts", allow_empty_items=True)
    if isinstance(choices_list, str) or choices_list is None:
        raise TypeError("choices_list must be a list with one list of choice strings per context")
    choices_list = list(choices_list)
    if len(choices_list) != len(contexts):
        raise ValueError(
            f"choices_list has {len(choices_list)} entries but contexts has {len(contexts)}; "
            f"give one list of choices per context"
        )
    out = []
    for i, choices in enumerate(choices_list):
        if isinstance(choices, str):
            raise TypeError(
                f"choices_list[{i}] is the string {choices[:40]!r}; it must be a list of choices"
            )
        choices = list(choices)
        if len(choices) < 2:
            raise ValueError(f"choices_list[{i}] has {len(choices)} choice(s); need at least 2")
        for k, c in enumerate(choices):
            if not isinstance(c, str):
                raise TypeError(f"choices_list[{i}][{k}] is a {type(c).__name__}, not a str")
            if not c:
                raise ValueError(f"choices_list[{i}][{k}] is an empty string; nothing to score")
        out.append(choices)
    return contexts, out


def score_choices(model, tokenizer, contexts, choices_list, *, batch_size=8, progress=False):
    """Log-likelihood of each choice as a continuation of its context.

    For question ``i`` and choice ``k`` the sequence is the context's tokens (encoded with the
    tokenizer's special tokens, so a Llama-style BOS comes first) followed by the choice's
    tokens (encoded without special tokens). The score is the sum of the log-probabilities
    the model gives the choice's tokens, each predicted from everything before it. The
    context's own tokens are not scored.

    Write the choice with its leading space (``" file"``, not ``"file"``) and the context
    without a trailing one, as the text reads; that keeps the tokens what the model saw in
    training.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A causal LM, already loaded. It is not modified.
    tokenizer : transformers tokenizer
        Its tokenizer. It is not modified (no pad token is set).
    contexts : list of str
        One context per question (may be ``""`` if the tokenizer adds a BOS token).
    choices_list : list of list of str
        The choices of each question (at least two, each non-empty).
    batch_size : int, default=8
        Questions per forward pass. Each context is run once and its choices are scored on
        top of its cached keys and values, so a question costs about one pass over its
        context rather than one per choice. Batches are padded on the right with an
        attention mask, so the batch size changes speed and memory, not the scores beyond
        float rounding.
    progress : bool, default=False
        Show a tqdm progress bar.

    Returns
    -------
    ChoiceScores
        ``loglikelihoods``, ``n_tokens`` and ``n_bytes``, one array per question.

    Raises
    ------
    ValueError
        If the inputs are malformed, if a choice encodes to no tokens, if a context encodes
        to no tokens (nothing to predict the first choice token from), or if a context plus a
        choice is longer than the model's context length (never truncated silently).

    Examples
    --------
    >>> import llmlab
    >>> from llmlab.tasks import score_choices
    >>> model = llmlab.load_model("tiny-llama")  # doctest: +SKIP
    >>> tok = llmlab.load_tokenizer("tiny-llama")  # doctest: +SKIP
    >>> contexts, choices = ["Open the file and read"], [[" it", " banana"]]
    >>> s = score_choices(model, tok, contexts, choices)  # doctest: +SKIP
    >>> s.predict()  # doctest: +SKIP
    array([0])
    """
    contexts, choices_list = _check_choices(contexts, choices_list)
    check_batch_size(batch_size)

    ctx_ids = [list(x) for x in tokenizer(contexts, add_special_tokens=True)["input_ids"]]
    flat = [c for choices in choices_list for c in choices]
    flat_ids = [list(x) for x in tokenizer(flat, add_special_tokens=False)["input_ids"]]
    conts = []  # token ids of each question's choices
    pos = 0
    for i, choices in enumerate(choices_list):
        conts.append(flat_ids[pos : pos + len(choices)])
        pos += len(choices)
        for k, cont in enumerate(conts[i]):
            if not cont:
                raise ValueError(f"choices_list[{i}][{k}]={choices[k]!r} encodes to no tokens")
    names = [f"contexts[{i}]" for i in range(len(contexts))]
    requests = continuation_requests(ctx_ids, conts, names=names)
    scored = score_requests(
        model, requests, batch_size=batch_size, progress=progress, desc="score_choices"
    )
    lls = [np.array([float(lp.sum()) for lp in row], dtype=np.float64) for row in scored]
    n_tok = [np.asarray([len(c) for c in row], dtype=np.int64) for row in conts]
    n_bytes = [np.asarray([len(c.encode("utf-8")) for c in choices], dtype=np.int64)
               for choices in choices_list]
    return ChoiceScores(loglikelihoods=lls, n_tokens=n_tok, n_bytes=n_bytes)


def _mean_stderr(x: np.ndarray) -> float:
    if len(x) < 2:
        return float("nan")
    return float(np.std(x, ddof=1) / math.sqrt(len(x)))


def multiple_choice_accuracy(scores: ChoiceScores, labels) -> MultipleChoiceResult:
    """acc and acc_norm of choice scores against the true choices.

    ``acc`` counts a question as right when the true choice has the highest summed
    log-likelihood. ``acc_norm`` first divides each choice's log-likelihood by its length in
    **UTF-8 bytes**, so a choice is not penalised just for being longer. This follows
    EleutherAI's lm-evaluation-harness (``lm_eval/api/task.py``, ``process_results`` for
    ``multiple_choice``: ``pred_norm = argmax(lls / completion_len)``), which divides by
    ``len(choice)`` in *characters* of the choice text without the space that joins it to the
    context. We divide by the bytes of the continuation as scored, its leading space
    included: for ASCII choices that is the harness' length plus one.

    Parameters
    ----------
    scores : ChoiceScores
        From :func:`score_choices`.
    labels : sequence of int
        Index of the true choice of each question.

    Returns
    -------
    MultipleChoiceResult

    Raises
    ------
    ValueError
        If ``labels`` has the wrong length or an index outside a question's choices.

    Examples
    --------
    >>> import numpy as np
    >>> from llmlab.tasks import ChoiceScores, multiple_choice_accuracy
    >>> scores = ChoiceScores(
    ...     loglikelihoods=[np.array([-2.0, -6.0]), np.array([-3.0, -4.0])],
    ...     n_tokens=[np.array([1, 3]), np.array([1, 2])],
    ...     n_bytes=[np.array([2, 10]), np.array([4, 4])],
    ... )
    >>> res = multiple_choice_accuracy(scores, [1, 1])
    >>> res.acc, res.acc_norm
    (0.0, 0.5)
    """
    if not isinstance(scores, ChoiceScores):
        raise TypeError(f"scores must be a ChoiceScores (from score_choices), "
                        f"got {type(scores).__name__}")
    if isinstance(labels, str):
        raise TypeError("labels must be a sequence of choice indices, not a string")
    labels = list(labels)
    if len(labels) != len(scores):
        raise ValueError(
            f"labels has {len(labels)} entries but there are {len(scores)} questions"
        )
    for i, (y, ll) in enumerate(zip(labels, scores.loglikelihoods)):
        if isinstance(y, bool) or not isinstance(y, (int, np.integer)) or not 0 <= y < len(ll):
            raise ValueError(
                f"labels[{i}]={y!r} is not a choice index; question {i} has choices "
                f"0..{len(ll) - 1}"
            )
    y = np.asarray(labels, dtype=np.int64)
    pred = scores.predict(normalize=False)
    pred_norm = scores.predict(normalize=True)
    right = (pred == y).astype(np.float64)
    right_norm = (pred_norm == y).astype(np.float64)
    return MultipleChoiceResult(
        acc=float(right.mean()),
        acc_norm=float(right_norm.mean()),
        acc_stderr=_mean_stderr(right),
        acc_norm_stderr=_mean_stderr(right_norm),
        chance=float(np.mean([1.0 / len(ll) for ll in scores.loglikelihoods])),
        n_questions=len(y),
        labels=y,
        pred=pred,
        pred_norm=pred_norm,
        scores=scores,
    )


def evaluate_multiple_choice(model, tokenizer, questions, *, batch_size=8, progress=False):
    """Score bundled-style questions and return their acc and acc_norm.

    Parameters
    ----------
    model, tokenizer
        A loaded causal LM and its tokenizer (not modified).
    questions : list of dict
        Each with ``context``, ``choices`` and ``label``, as :func:`load_multiple_choice`
        returns them.
    batch_size : int, default=8
    progress : bool, default=False

    Returns
    -------
    MultipleChoiceResult

    Examples
    --------
    >>> import llmlab
    >>> from llmlab.tasks import evaluate_multiple_choice, load_multiple_choice
    >>> model = llmlab.load_model("tiny-llama")  # doctest: +SKIP
    >>> tok = llmlab.load_tokenizer("tiny-llama")  # doctest: +SKIP
    >>> questions = load_multiple_choice("test")[:40]
    >>> res = evaluate_multiple_choice(model, tok, questions)  # doctest: +SKIP
    >>> res.chance  # doctest: +SKIP
    0.25
    """
    if isinstance(questions, dict):
        raise TypeError("questions must be a list of question dicts, not one dict")
    questions = list(questions)
    if not questions:
        raise ValueError("questions is empty")
    for i, q in enumerate(questions):
        if not isinstance(q, dict):
            raise TypeError(f"questions[{i}] is a {type(q).__name__}, not a dict")
        missing = [key for key in ("context", "choices", "label") if key not in q]
        if missing:
            raise ValueError(f"questions[{i}] lacks the key(s) {', '.join(missing)}")
    scores = score_choices(
        model,
        tokenizer,
        [q["context"] for q in questions],
        [q["choices"] for q in questions],
        batch_size=batch_size,
        progress=progress,
    )
    return multiple_choice_accuracy(scores, [q["label"] for q in questions])


# --------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------


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
    >>> from llmlab.tasks import rouge
    >>> scores = rouge(["the cat is on a mat"], ["the cat sat on the mat"])
    >>> {k: round(v, 4) for k, v in scores.items()}
    {'rouge1': 0.6667, 'rouge2': 0.2, 'rougeL': 0.6667}
    """
    from rouge_score import rouge_scorer

    predictions = _check_str_list(predictions, "predictions", allow_empty_items=True)
    references = _check_str_list(references, "references")
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
    >>> from llmlab.tasks import lead_baseline
    >>> lead_baseline("Open a file.  It is\\nread in binary mode. Done")
    'Open a file.'
    >>> lead_baseline("Open a file.  It is read in binary mode.", n_words=4)
    'Open a file. It'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    words = text.split()
    if n_words is not None:
        if isinstance(n_words, bool) or not isinstance(n_words, int) or n_words < 1:
            raise ValueError(f"n_words={n_words!r} must be a positive int or None")
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
    by ``model.generate(..., do_sample=False)`` (the most likely token every step, so the
    output is deterministic) for at most ``max_new_tokens`` new tokens. Always bound the
    length: without ``max_new_tokens`` (or ``max_length``) ``generate`` runs to the model's
    default generation length. The summary is the generated text up to its first line
    break, stripped. Prompts are batched, padded on the left with an attention mask (as
    batched generation with a decoder-only model needs); the tokenizer's own padding side
    is left alone.

    Parameters
    ----------
    model, tokenizer
        A loaded causal LM and its tokenizer (not modified).
    texts : str or list of str
        The documents.
    template : str, default="{text}\\n\\nSummary:"
        The prompt; must contain ``{text}``.
    max_new_tokens : int, default=24
        At most this many tokens are generated per text.
    batch_size : int, default=8
        Prompts per ``generate`` call (speed and memory; greedy outputs do not depend on it
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
    >>> from llmlab.tasks import summarize
    >>> model = llmlab.load_model("tiny-llama")  # doctest: +SKIP
    >>> tok = llmlab.load_tokenizer("tiny-llama")  # doctest: +SKIP
    >>> summarize(model, tok, ["Open the file and return a stream."])  # doctest: +SKIP
    ['...']
    """
    import torch

    if isinstance(texts, str):
        texts = [texts]
    texts = _check_str_list(texts, "texts")
    if not isinstance(template, str) or "{text}" not in template:
        raise ValueError(f"template={template!r} must be a str containing {{text}}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) \
            or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens!r} must be a positive int")
    check_batch_size(batch_size)
    prompts = [template.format(text=t) for t in texts]
    encoded = [list(x) for x in tokenizer(prompts, add_special_tokens=True)["input_ids"]]
    limit = model_context_length(model)
    for i, ids in enumerate(encoded):
        if limit is not None and len(ids) + max_new_tokens > limit:
            raise ValueError(
                f"texts[{i}]: the prompt is {len(ids)} tokens; with max_new_tokens="
                f"{max_new_tokens} it exceeds the model's context length {limit}. Shorten the "
                f"text (llmlab never truncates silently)"
            )
    pad_id = tokenizer.pad_token_id
    eos_id = tokenizer.eos_token_id
    if pad_id is None:
        pad_id = eos_id if eos_id is not None else 0
    device = model_device(model)
    out = [""] * len(texts)
    # Longest prompts first, so a batch holds prompts of similar length (little padding).
    order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
    with torch.inference_mode():
        for b in range(0, len(order), batch_size):
            batch = order[b : b + batch_size]
            width = max(len(encoded[i]) for i in batch)
            # Padded on the LEFT, so every prompt ends where generation starts; generate()
            # derives the positions from the attention mask.
            input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                n = len(encoded[i])
                input_ids[row, width - n :] = torch.tensor(encoded[i])
                mask[row, width - n :] = 1
            # max_length = width + max_new_tokens is the same limit as max_new_tokens; it
            # avoids transformers' "both max_new_tokens and max_length" warning for models
            # whose generation_config.json sets max_length.
            generated = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=mask.to(device),
                max_length=width + max_new_tokens,
                do_sample=False,
                pad_token_id=pad_id,
                eos_token_id=eos_id,
            )
            for row, i in enumerate(batch):
                new = generated[row, width:].tolist()
                text = tokenizer.decode(new, skip_special_tokens=True)
                out[i] = text.strip().split("\n", 1)[0].strip()
    return out


# --------------------------------------------------------------------------------------
# Answer matching (SQuAD)
# --------------------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation: lower-case, drop punctuation and articles, squeeze spaces.

    The steps run in the order of the official SQuAD v1.1 evaluation script: lower-case,
    remove every character of ``string.punctuation``, remove the words "a", "an" and "the",
    then split on whitespace and join with single spaces.

    Examples
    --------
    >>> from llmlab.tasks import normalize_answer
    >>> normalize_answer("  The Standard-Library's  answer! ")
    'standardlibrarys answer'
    """
    if not isinstance(text, str):
        raise TypeError(f"expected a str, got {type(text).__name__}")
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> float:
    """1.0 if the two answers are equal after :func:`normalize_answer`, else 0.0.

    Examples
    --------
    >>> from llmlab.tasks import exact_match
    >>> exact_match("The list.", "list")
    1.0
    >>> exact_match("a list", "lists")
    0.0
    """
    _check_pair(prediction, reference)
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
    >>> from llmlab.tasks import token_f1
    >>> token_f1("the big cat", "a cat sat")
    0.5
    >>> token_f1("open the file", "Open file!")
    1.0
    """
    _check_pair(prediction, reference)
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


def _check_pair(prediction, reference) -> None:
    for name, value in (("prediction", prediction), ("reference", reference)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
