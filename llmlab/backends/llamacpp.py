"""A GGUF file run by llama.cpp in process (llama-cpp-python), as a backend.

This is how llama.cpp, Ollama and LM Studio run a model: on the GGUF file's own quantized
kernels (q8_0, q4_K_M, ...), not on weights dequantized into PyTorch. Sequences go in as
token ids (the local tokenizer's, checked against the file's vocabulary), every position's
logits are kept (``logits_all``), and log-probabilities are taken in float64 from them.

llama.cpp runs one sequence at a time here. Its context keeps the tokens last evaluated, so
each sequence evaluates only the part after the longest prefix it shares with them: a
request's continuations run on its context once, prompts that start alike (a template,
few-shot examples) share their start, and generation evaluates one new token per step.

Install it with ``pip install 'llmlab[llamacpp]'`` (it compiles llama.cpp).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from llmlab._numeric import log_softmax
from llmlab.backends.base import PROBE_TEXT, Backend, tokenizer_name
from llmlab.provenance import Provenance, attach_provenance, provenance_of

__all__ = ["LlamaCppModel", "load_llamacpp", "require_llama_cpp"]


def require_llama_cpp():
    try:
        import llama_cpp
    except ImportError as exc:
        raise ImportError(
            "backend='llama.cpp' needs llama-cpp-python: pip install 'llmlab[llamacpp]' "
            "(it compiles llama.cpp; see the README), or use backend='transformers', which "
            "loads the same GGUF file dequantized"
        ) from exc
    return llama_cpp


def load_llamacpp(path, *, n_ctx=None, n_threads=None, tokenizer=None):
    """Load a GGUF file with llama.cpp; see :class:`LlamaCppModel`."""
    return LlamaCppModel(path, n_ctx=n_ctx, n_threads=n_threads, tokenizer=tokenizer)


@dataclass
class EvalCounter:
    """Tokens llama.cpp evaluated and sequences it was given (shared by the copies of one
    model made by :meth:`LlamaCppModel.with_tokenizer`)."""

    tokens: int = 0
    sequences: int = 0


class LlamaCppModel(Backend):
    """A GGUF model evaluated by llama.cpp's kernels.

    Parameters
    ----------
    path : str
        The ``.gguf`` file.
    n_ctx : int, optional
        Context in tokens; default the length the model was trained with (the file's
        ``context_length``), which is also :func:`llmlab.perplexity`'s default window.
    n_threads : int, optional
        CPU threads; default llama.cpp's choice.
    tokenizer : transformers tokenizer, optional
        The model's tokenizer (:func:`llmlab.load_tokenizer` on the same file), checked
        against the file's vocabulary. Scorers and generators also take it next to the model.
    reuse_prefix : bool, default=True
        Evaluate only the tokens after the prefix a sequence shares with the tokens the
        context holds (False: evaluate every sequence from scratch; same numbers up to float
        rounding, slower).

    Attributes
    ----------
    evaluated : EvalCounter
        Tokens and sequences evaluated so far.
    """

    def __init__(self, path, *, n_ctx=None, n_threads=None, tokenizer=None,
                 reuse_prefix=True):
        llama_cpp = require_llama_cpp()
        if not (isinstance(path, (str, os.PathLike)) and str(path).endswith(".gguf")):
            raise ValueError(f"backend='llama.cpp' loads a .gguf file, got {path!r}")
        if n_ctx is not None and (isinstance(n_ctx, bool) or not isinstance(n_ctx, int)
                                  or n_ctx < 2):
            raise ValueError(f"n_ctx={n_ctx!r} must be an int >= 2")
        if reuse_prefix not in (True, False):
            raise ValueError(f"reuse_prefix={reuse_prefix!r} must be True or False")
        self.path = os.fspath(path)
        kwargs = {"n_ctx": n_ctx or 0, "logits_all": True, "verbose": False}
        if n_threads is not None:
            kwargs["n_threads"] = n_threads
        llm = llama_cpp.Llama(model_path=self.path, **kwargs)  # n_ctx 0: the trained length
        self.llm = llm
        self.context_length = llm.n_ctx()
        self.n_vocab = llm.n_vocab()
        # a recurrent model's state cannot be rewound to a prefix
        self.reuse_prefix = reuse_prefix and not (getattr(llm, "_is_recurrent", False)
                                                  or getattr(llm, "_is_hybrid", False))
        self.evaluated = EvalCounter()
        attach_provenance(self, Provenance(
            source=self.path, format="gguf", backend="llama.cpp", dequantized=False,
            file_quantization=_file_type(llm), quantization=None, device="cpu"))
        if tokenizer is not None:
            self.tokenizer = tokenizer
            self.check_tokenizer()

    def __repr__(self):
        return f"LlamaCppModel({self.path!r}, n_ctx={self.context_length})"

    @property
    def info(self) -> Provenance:
        return provenance_of(self)

    @property
    def file_bytes(self) -> int:
        return os.path.getsize(self.path)

    def check_tokenizer(self):
        """A ValueError naming both where the tokenizer does not encode a probe text to the
        ids the file's own vocabulary gives (a tokenizer may have more tokens than the file,
        such as an added pad token, that text never encodes to)."""
        tok = self.tokenizer
        local = [int(t) for t in tok(PROBE_TEXT, add_special_tokens=True)["input_ids"]]
        own = [int(t) for t in self.llm.tokenize(PROBE_TEXT.encode("utf-8"), add_bos=True,
                                                 special=False)]
        if local != own:
            raise ValueError(
                f"the tokenizer {tokenizer_name(tok)!r} does not match the GGUF file "
                f"{self.path!r}: {PROBE_TEXT[:24]!r}... is {local[:10]} with the tokenizer "
                f"and {own[:10]} in the file's vocabulary. Pass the file's tokenizer: "
                f"llmlab.load_tokenizer({self.path!r})."
            )

    # -- evaluation -------------------------------------------------------------------------
    def _logits(self, ids):
        """Logits (float32, one row per position) of ``ids``: only the tokens after the
        prefix the context already holds are evaluated. A view, valid until the next call."""
        llm = self.llm
        n = len(ids)
        keep = 0
        if self.reuse_prefix and llm.n_tokens:
            k = min(llm.n_tokens, n)
            differ = np.flatnonzero(llm.input_ids[:k] != np.asarray(ids[:k], dtype=np.intc))
            keep = int(differ[0]) if differ.size else k
        # Rows before ``keep`` hold the logits computed when those tokens were evaluated;
        # eval() drops the cached keys and values from n_tokens on.
        if keep == 0:
            llm.reset()
        llm.n_tokens = keep
        if keep < n:
            llm.eval(list(ids[keep:]))
        self.evaluated.tokens += n - keep
        self.evaluated.sequences += 1
        return llm.scores[:n]

    def score_batch(self, requests):
        out = []
        for req in requests:
            row = [None] * len(req.continuations)
            singles = [k for k, c in enumerate(req.continuations) if len(c) == 1]
            if singles:
                last = log_softmax(self._logits(req.context)[-1:])[0]
                for k in singles:
                    row[k] = np.array([last[req.continuations[k][0]]], dtype=np.float64)
            for k, cont in enumerate(req.continuations):
                if len(cont) == 1:
                    continue
                ids = list(req.context) + list(cont)
                n = len(req.context)
                logp = log_softmax(self._logits(ids)[n - 1 : len(ids) - 1])
                row[k] = logp[np.arange(len(cont)), np.asarray(cont)]
            out.append(row)
        return out

    # -- generation -----------------------------------------------------------------------
    def _generate_batch(self, prompt_ids, settings):
        """Prompt by prompt; a seed seeds each prompt's own generator, so a sampled output
        does not depend on the batching."""
        return [self._generate_one(ids, settings) for ids in prompt_ids]

    def _generate_one(self, ids, settings):
        llm = self.llm
        tok = self.tokenizer
        eos = self._eos_ids() | {int(llm.token_eos())}
        rng = np.random.default_rng(settings.seed)
        logits = self._logits(ids)[-1]
        new = []
        while True:
            token = _pick(logits, settings, rng)
            if token in eos:
                return new, None, len(new) + 1, "eos"
            new.append(token)
            if len(new) == settings.max_new_tokens:
                return new, None, len(new), "length"
            if settings.stop and any(s in tok.decode(new, skip_special_tokens=True)
                                     for s in settings.stop):
                return new, None, len(new), "stop"
            llm.eval([token])  # the context holds the prompt and the tokens so far
            self.evaluated.tokens += 1
            logits = llm.scores[llm.n_tokens - 1]


def _pick(logits, settings, rng) -> int:
    """The next token: the most likely one (greedy), or one drawn from the distribution at
    ``settings.temperature`` cut to its top-p nucleus."""
    if settings.greedy:
        return int(np.argmax(logits))
    x = np.asarray(logits, dtype=np.float64) / settings.temperature
    p = np.exp(x - x.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    if settings.top_p < 1.0:
        # the smallest set of most likely tokens whose probability reaches top_p
        n_keep = int(np.searchsorted(np.cumsum(p[order]), settings.top_p)) + 1
        order = order[:n_keep]
    kept = p[order]
    return int(order[rng.choice(len(order), p=kept / kept.sum())])





def _file_type(llm) -> str | None:
    desc = llm.metadata.get("general.file_type") if hasattr(llm, "metadata") else None
    try:
        from gguf import LlamaFileType

        return LlamaFileType(int(desc)).name.replace("MOSTLY_", "") if desc is not None else None
    except (ImportError, ValueError):
        return desc
