"""The backend contract: what a model must offer for llmlab to score and generate with it.

A :class:`Backend` owns the model, its tokenizer and a description of the model
(:class:`~llmlab.provenance.Provenance`). It offers two things:

* :meth:`Backend.score_batch` -- the log-probabilities of continuation tokens after a context
  (every number :func:`llmlab.perplexity`, :func:`llmlab.classify` and multiple choice read);
* :meth:`Backend.generate` -- text continued from prompts, greedy or sampled, with a bound on
  the new tokens, stop strings and a seed.

The input checks, the longest-first batching and the decoding of generated tokens are written
here once; an engine implements :meth:`Backend.score_batch` and
:meth:`Backend._generate_batch`.
"""

from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass
from numbers import Integral, Real

from llmlab.provenance import Provenance
from llmlab.validation import Interval, check_param, check_positive_int

__all__ = [
    "Backend",
    "Generation",
    "GenerationSettings",
    "Request",
    "check_prompt_lengths",
    "longest_first",
    "model_context_length",
]


@dataclass(frozen=True)
class Request:
    """Score ``continuations``, each as it follows ``context``.

    Attributes
    ----------
    context : tuple of int
        Token ids given as context only (at least one: the first token is never scored).
    continuations : tuple of tuple of int
        One or more token id sequences, each scored independently after ``context``.
    name : str
        What the request came from (``"texts[3]"``), used in error messages.
    """

    context: tuple
    continuations: tuple
    name: str = "request"

    @property
    def longest(self) -> int:
        """Tokens in the context plus the longest continuation."""
        return len(self.context) + max(len(c) for c in self.continuations)


@dataclass(frozen=True)
class Generation:
    """What :meth:`Backend.generate` returns for one prompt.

    Attributes
    ----------
    text : str
        The generated text, special tokens left out, cut before the first stop string.
    token_ids : tuple of int or None
        The generated token ids up to the one that ended generation (a stop string may end
        inside the last one; an end-of-sequence token is left out). None where the engine
        returns text only (a server).
    n_new_tokens : int
        Tokens the engine generated for it.
    n_prompt_tokens : int
    finish_reason : {"length", "eos", "stop"}
        Why it ended: ``max_new_tokens`` reached, end of sequence, or a stop string.
    """

    text: str
    token_ids: tuple | None
    n_new_tokens: int
    n_prompt_tokens: int
    finish_reason: str


@dataclass(frozen=True)
class GenerationSettings:
    """The checked options of one :meth:`Backend.generate` call (what engines receive)."""

    max_new_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple = ()

    @property
    def greedy(self) -> bool:
        """Whether the most likely token is taken every step (temperature 0)."""
        return self.temperature == 0.0


#: Text a backend encodes to compare a tokenizer with the model's own vocabulary.
PROBE_TEXT = "Message: WIN a free prize now!\nLabel: spam\ndef f(x):\n    return x + 1"


def tokenizer_name(tokenizer) -> str:
    """How an error names a tokenizer: its ``name_or_path``, else its class."""
    return getattr(tokenizer, "name_or_path", None) or type(tokenizer).__name__


def model_context_length(model) -> int | None:
    """The longest sequence the model allows: a backend's ``context_length``, else the
    position-embedding length its config gives (None when unknown)."""
    if isinstance(model, Backend):
        return model.context_length
    cfg = getattr(model, "config", None)
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(cfg, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def longest_first(lengths, batch_size: int) -> list[list[int]]:
    """Indices of ``lengths`` in batches of ``batch_size``, longest first.

    A batch then holds items of similar length, so little padding; the sort is stable, so
    equal lengths keep their order.

    Examples
    --------
    >>> longest_first([3, 9, 5, 9], 2)
    [[1, 3], [2, 0]]
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]


def check_prompt_lengths(prompt_ids, max_new_tokens, limit, *, name="prompts") -> None:
    """A ValueError naming the first prompt that, with ``max_new_tokens`` more tokens, does
    not fit ``limit`` (no check where ``limit`` is None): llmlab never truncates silently."""
    if limit is None:
        return
    for i, ids in enumerate(prompt_ids):
        if len(ids) + max_new_tokens > limit:
            raise ValueError(
                f"{name}[{i}]: the prompt is {len(ids)} tokens; with max_new_tokens="
                f"{max_new_tokens} it exceeds the model's context length {limit}. Shorten the "
                f"text (llmlab never truncates silently)"
            )


def check_generation(max_new_tokens, temperature, top_p, seed, stop) -> GenerationSettings:
    """The options of :meth:`Backend.generate`, checked; errors name the bad value."""
    max_new_tokens = check_positive_int("max_new_tokens", max_new_tokens)
    check_param("temperature", temperature, [Interval(Real, 0, None, closed="left")])
    check_param("top_p", top_p, [Interval(Real, 0, 1, closed="right")])
    check_param("seed", seed, [None, Interval(Integral, 0, None, closed="left")])
    if stop is None:
        stop = ()
    elif isinstance(stop, str):
        stop = (stop,)
    else:
        stop = tuple(stop)
    for s in stop:
        if not isinstance(s, str) or not s:
            raise ValueError(f"stop={stop!r} must be a string or a list of non-empty strings")
    return GenerationSettings(max_new_tokens, float(temperature), float(top_p),
                              None if seed is None else int(seed), stop)


def cut_at_stop(text: str, stop) -> tuple[str, bool]:
    """``text`` up to the first occurrence of any stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text, False) if cut < 0 else (text[:cut], True)


class Backend:
    """How llmlab talks to a model: scoring and generation.

    Subclasses set :attr:`context_length` (``None`` when unknown) and :attr:`tokenizer`,
    implement :meth:`score_batch`, and, to generate, :meth:`_generate_batch`.

    Attributes
    ----------
    tokenizer : transformers tokenizer or None
        The tokenizer whose ids the backend reads and writes.
    context_length : int or None
    info : llmlab.provenance.Provenance
        Where the model came from and how it runs.
    """

    context_length = None
    tokenizer = None

    @property
    def info(self) -> Provenance:
        return Provenance(source=repr(self), format=None, backend=type(self).__name__)

    # -- the tokenizer ---------------------------------------------------------------------
    def with_tokenizer(self, tokenizer) -> Backend:
        """This backend reading the ids of ``tokenizer``.

        ``self`` when it already uses ``tokenizer`` (or ``tokenizer`` is None); otherwise a
        shallow copy that uses it, checked with :meth:`check_tokenizer`. ``self`` is never
        modified.
        """
        if tokenizer is None or tokenizer is self.tokenizer:
            return self
        other = copy.copy(self)
        other.tokenizer = tokenizer
        other.check_tokenizer()
        return other

    def check_tokenizer(self) -> None:
        """Raise if :attr:`tokenizer` is not the model's (an engine that can tell checks)."""

    def require_tokenizer(self, what: str):
        """:attr:`tokenizer`, or a ValueError saying that ``what`` needs one."""
        if self.tokenizer is None:
            raise ValueError(
                f"{type(self).__name__} has no tokenizer, and {what} needs one: pass the "
                f"model's tokenizer (llmlab.load_tokenizer) with the model, e.g. "
                f"llmlab.backends.as_backend(model, tokenizer)"
            )
        return self.tokenizer

    # -- scoring ------------------------------------------------------------------------
    def score_batch(self, requests: list) -> list:
        """Per request, per continuation: an array of its tokens' log-probabilities (nats).

        ``result[r][k][t]`` is ``log p(continuation_k[t] | context + continuation_k[:t])``
        for request ``r``, as float64.
        """
        raise NotImplementedError

    # -- generation -----------------------------------------------------------------------
    def generate(self, prompts, *, max_new_tokens, temperature=0.0, top_p=1.0, seed=None,
                 stop=None, batch_size=8) -> list:
        """Continue each prompt.

        Parameters
        ----------
        prompts : str, list of str, or list of list of int
            Texts (encoded with the tokenizer's special tokens, BOS first) or token ids.
        max_new_tokens : int
            At most this many new tokens per prompt.
        temperature : float, default=0.0
            0 takes the most likely token every step (greedy, deterministic); above 0
            samples from the distribution divided by it.
        top_p : float, default=1.0
            Sampling only: draw from the smallest set of tokens whose probability reaches
            ``top_p`` (nucleus sampling); 1.0 keeps every token.
        seed : int, optional
            Sampling only: the same seed, prompts and ``batch_size`` give the same outputs
            (where the engine takes a seed).
        stop : str or list of str, optional
            Generation ends at the token that completes one of them; the text is cut before
            it.
        batch_size : int, default=8
            Prompts per engine call, longest first (speed and memory only).

        Returns
        -------
        list of Generation
            One per prompt, in order.

        Raises
        ------
        ValueError
            For a bad option, or a prompt that with ``max_new_tokens`` does not fit the
            context length.
        """
        settings = check_generation(max_new_tokens, temperature, top_p, seed, stop)
        batch_size = check_positive_int("batch_size", batch_size)
        tokenizer = self.require_tokenizer("generation")
        ids = encode_prompts(tokenizer, prompts)
        check_prompt_lengths(ids, settings.max_new_tokens, self.context_length)
        out = [None] * len(ids)
        for batch in longest_first([len(x) for x in ids], batch_size):
            raw = self._generate_batch([ids[i] for i in batch], settings)
            if len(raw) != len(batch):
                raise RuntimeError(f"{type(self).__name__}._generate_batch returned "
                                   f"{len(raw)} results for {len(batch)} prompts")
            for i, (new_ids, text, n_new, reason) in zip(batch, raw):
                out[i] = self._finish(new_ids, text, n_new, reason, len(ids[i]), settings)
        return out

    def _generate_batch(self, prompt_ids: list, settings: GenerationSettings) -> list:
        """Per prompt ``(new_token_ids or None, text or None, n_new_tokens, finish_reason or
        None)``.

        ``new_token_ids`` end before any end-of-sequence token; ``text`` is given by engines
        that return text only; ``finish_reason`` by engines that know it (else it is read
        off the counts). Either may run past a stop string: :meth:`generate` cuts.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot generate")

    def _eos_ids(self) -> set:
        eos = getattr(self.tokenizer, "eos_token_id", None)
        return set() if eos is None else {eos}

    def _finish(self, new_ids, text, n_new, reason, n_prompt, settings) -> Generation:
        if new_ids is not None:
            new_ids = tuple(int(t) for t in new_ids)
            if reason is None and len(new_ids) < n_new:
                reason = "eos"  # the engine generated an end-of-sequence token, left out
            text = self.tokenizer.decode(list(new_ids), skip_special_tokens=True)
        elif reason is None and n_new < settings.max_new_tokens:
            reason = "eos"
        reason = reason or "length"
        text, stopped = cut_at_stop(text, settings.stop)
        return Generation(text=text, token_ids=new_ids, n_new_tokens=int(n_new),
                          n_prompt_tokens=n_prompt,
                          finish_reason="stop" if stopped else reason)


def encode_prompts(tokenizer, prompts) -> list[list[int]]:
    """Token ids of each prompt: a text is encoded with special tokens, ids are kept."""
    if isinstance(prompts, str):
        prompts = [prompts]
    try:
        prompts = list(prompts)
    except TypeError:
        raise TypeError(f"prompts must be a list of strings or of token id lists, got "
                        f"{type(prompts).__name__}") from None
    if not prompts:
        raise ValueError("prompts is empty; pass at least one prompt")
    out = []
    for i, p in enumerate(prompts):
        if isinstance(p, str):
            if not p:
                raise ValueError(f"prompts[{i}] is an empty string")
            out.append(list(tokenizer(p, add_special_tokens=True)["input_ids"]))
        elif isinstance(p, (list, tuple)) and p and all(
                isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in p):
            out.append([int(t) for t in p])
        else:
            raise TypeError(f"prompts[{i}] must be a non-empty string or a non-empty list of "
                            f"token ids, got {p!r:.60}")
    return out
