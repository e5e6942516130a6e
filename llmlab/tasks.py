"""Downstream tasks: multiple-choice accuracy by log-likelihood, summaries scored with ROUGE.

Perplexity says how well a model predicts text; a task metric says whether it does a job.
This module holds the task side:

* **Multiple choice, scored by log-likelihood** (as evaluation harnesses do). For each
  question the model reads the ``context`` and every choice is scored by the summed
  log-probability of its tokens as a continuation. The prediction is the most likely choice
  (*acc*), or the most likely per byte of the choice (*acc_norm*), so that long choices are
  not punished for having more tokens to pay for. :func:`score_choices`,
  :func:`multiple_choice_accuracy`, :func:`evaluate_multiple_choice`.
* **Summaries, scored with ROUGE** (the ``rouge-score`` package), in
  :mod:`llmlab.summaries`: :func:`summarize` (greedy generation), :func:`lead_baseline` (the
  first sentence), :func:`rouge`.
* **Answer matching** as in SQuAD, in :mod:`llmlab.answers`: :func:`normalize_answer`,
  :func:`exact_match`, :func:`token_f1`.
* The bundled task sets, in :mod:`llmlab.datasets`: :func:`load_multiple_choice`,
  :func:`load_summaries`.

Everything above is importable from here (``llmlab.tasks.rouge``, ...), as the lessons do.

The model and the tokenizer are never modified, and nothing is ever truncated silently: an
input that does not fit the model's context raises ``ValueError``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from llmlab.answers import exact_match, normalize_answer, token_f1
from llmlab.datasets import TASK_SPLITS, load_multiple_choice, load_summaries
from llmlab.prompts import SUMMARY_TEMPLATE, render_prompts
from llmlab.scoring import continuation_requests, score_requests
from llmlab.summaries import ROUGE_TYPES, lead_baseline, rouge, summarize
from llmlab.validation import (
    Interval,
    check_option,
    check_positive_int,
    check_str_list,
    renamed_keywords,
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
        check_option("normalize", normalize, (True, False))
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
    y_true : ndarray of int
        The true choice per question (``labels`` before: that name still works, with a
        ``FutureWarning``, for one release).
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
    y_true: np.ndarray
    pred: np.ndarray
    pred_norm: np.ndarray
    scores: ChoiceScores

    @property
    def labels(self) -> np.ndarray:
        """Deprecated name of :attr:`y_true`."""
        warnings.warn("MultipleChoiceResult.labels is deprecated: use .y_true (the same "
                      "array); .labels stops working in the next release.", FutureWarning,
                      stacklevel=2)
        return self.y_true

    @property
    def margins(self) -> np.ndarray:
        """Per question: log-likelihood of the true choice minus that of the best wrong one.

        Positive where ``acc`` counts the question as right (ties aside).
        """
        out = []
        for ll, y in zip(self.scores.loglikelihoods, self.y_true):
            others = np.delete(ll, y)
            out.append(ll[y] - others.max())
        return np.asarray(out, dtype=np.float64)

    def __repr__(self) -> str:
        return (
            f"MultipleChoiceResult(acc={self.acc:.3f} ± {self.acc_stderr:.3f}, "
            f"acc_norm={self.acc_norm:.3f} ± {self.acc_norm_stderr:.3f}, "
            f"chance={self.chance:.3f}, n_questions={self.n_questions})"
        )


def _check_choices(contexts, choices_list) -> tuple[list[str], list[list[str]]]:
    contexts = check_str_list(contexts, "contexts", allow_empty_items=True)
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


def score_choices(model, tokenizer, contexts, choices_list, *, template=None, batch_size=8,
                  progress=False):
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
    template : str or list of dict, optional
        Wrap each context in a template (``"{text}"`` is the context), or in chat messages
        rendered with the tokenizer's chat template (see :func:`llmlab.classify`). Default:
        the context as it is.
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
    check_positive_int("batch_size", batch_size)

    if template is None:
        ctx_ids = [list(x) for x in tokenizer(contexts, add_special_tokens=True)["input_ids"]]
    else:  # a question put to an instruct model: "{text}" is the context
        ctx_ids = render_prompts(tokenizer, template, contexts)
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
        model, requests, batch_size=batch_size, progress=progress, desc="score_choices",
        tokenizer=tokenizer,
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


@renamed_keywords(labels="y_true")
def multiple_choice_accuracy(scores: ChoiceScores, y_true) -> MultipleChoiceResult:
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
    y_true : sequence of int
        Index of the true choice of each question. Called ``labels`` before; ``labels=``
        still works, with a ``FutureWarning``, for one release.

    Returns
    -------
    MultipleChoiceResult

    Raises
    ------
    ValueError
        If ``y_true`` has the wrong length or an index outside a question's choices.

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
    if isinstance(y_true, str):
        raise TypeError("y_true must be a sequence of choice indices, not a string")
    y_true = list(y_true)
    if len(y_true) != len(scores):
        raise ValueError(
            f"y_true has {len(y_true)} entries but there are {len(scores)} questions"
        )
    for i, (y, ll) in enumerate(zip(y_true, scores.loglikelihoods)):
        if not Interval(Integral, 0, len(ll), closed="left").is_satisfied_by(y):
            raise ValueError(
                f"y_true[{i}]={y!r} is not a choice index; question {i} has choices "
                f"0..{len(ll) - 1}"
            )
    y = np.asarray(y_true, dtype=np.int64)
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
        y_true=y,
        pred=pred,
        pred_norm=pred_norm,
        scores=scores,
    )


def evaluate_multiple_choice(model, tokenizer, questions, *, template=None, batch_size=8,
                             progress=False):
    """Score bundled-style questions and return their acc and acc_norm.

    Parameters
    ----------
    model, tokenizer
        A loaded causal LM and its tokenizer (not modified).
    questions : list of dict
        Each with ``context``, ``choices`` and ``label``, as :func:`load_multiple_choice`
        returns them.
    template : str or list of dict, optional
        Passed to :func:`score_choices` (chat messages for an instruct model).
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
        template=template,
        batch_size=batch_size,
        progress=progress,
    )
    return multiple_choice_accuracy(scores, [q["label"] for q in questions])
