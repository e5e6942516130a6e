"""Summaries: greedy generation from a prompt, the lead baseline, and ROUGE.

Accuracy does not apply to a summary (there is no single right one); ROUGE counts the words
and word pairs it shares with a reference summary, through the ``rouge-score`` package.
"""

from __future__ import annotations

import math
import re

from llmlab.prompts import SUMMARY_TEMPLATE, check_template, render_prompts
from llmlab.scoring import check_batch_size, check_str_list, model_context_length, model_device

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
    template : str or list of dict, default="{text}\\n\\nSummary:"
        The prompt; must contain ``{text}``. Chat messages are rendered with the
        tokenizer's chat template, as in :func:`llmlab.classify`.
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
    >>> from llmlab.summaries import summarize
    >>> model = llmlab.load_model("tiny-llama")  # doctest: +SKIP
    >>> tok = llmlab.load_tokenizer("tiny-llama")  # doctest: +SKIP
    >>> summarize(model, tok, ["Open the file and return a stream."])  # doctest: +SKIP
    ['...']
    """
    import torch

    if isinstance(texts, str):
        texts = [texts]
    texts = check_str_list(texts, "texts")
    check_template(template)
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) \
            or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens={max_new_tokens!r} must be a positive int")
    check_batch_size(batch_size)
    encoded = render_prompts(tokenizer, template, texts)
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
