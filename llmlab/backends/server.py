"""A model behind an OpenAI-compatible HTTP server, as a backend of the scoring core.

Prompt log-probabilities come from ``POST {base_url}/completions`` with ``echo: true`` and
``logprobs``: the server returns the log-probability of every prompt token given the tokens
before it (llama-cpp-python's server and vLLM do; Ollama and llama.cpp's own ``llama-server``
do not). Such a server takes prompts as *strings*, so every sequence the core asks for is
decoded with the local tokenizer, and the server re-tokenizes it. Nothing is assumed:

* on the first use the client checks, on a probe text, that the server's tokenizer (its
  tokenize endpoint) gives the local tokenizer's ids, and that the returned log-probs are
  aligned (the BOS entry null, one entry per prompt token);
* every sequence is re-tokenized locally and compared with the ids it must score, and the
  number of prompt tokens the server echoes is compared with it; a sequence that does not
  survive the round trip is an error, never a silently different number.

The OpenAI format reports null for the first echoed token. vLLM echoes BOS too, so the null
is BOS's and every text token has its number. llama-cpp-python's server echoes from the
token after BOS, so that token's log-probability is lost (and an empty prompt, which would
give the distribution after BOS, fails there): continuations (:func:`llmlab.classify`,
multiple choice) score exactly, and a text's first token is an error that says so, never a
number left out of a perplexity.

Generation (:meth:`ServedModel.generate`) posts each prompt, decoded to text, to
``/completions`` with ``max_tokens``, ``temperature``, ``top_p``, ``stop`` and ``seed``
(OpenAI's fields), and with ``repeat_penalty: 1.0``, ``top_k: 0`` and ``min_p: 0.0``, the
names llama-cpp-python's server and vLLM give their other samplers, turned off so that
greedy decoding takes the most likely token as the other backends do (llama-cpp-python's
server repeats-penalizes by default). The server returns text: a generation's
``token_ids`` are None, its token count is the server's ``usage``.

Requests run ``max_concurrency`` at a time; connection errors, HTTP 429 and 5xx are retried
with exponential backoff (at most ``max_retries`` times, and never past ``timeout`` per
attempt); results do not depend on the concurrency.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from llmlab.backends.base import PROBE_TEXT, Backend
from llmlab.provenance import Provenance

__all__ = ["FirstTokenUnavailable", "ServedModel", "ServerError", "connect"]

_RETRY_STATUS = {429, 500, 502, 503, 504}


class ServerError(RuntimeError):
    """The server could not give what scoring needs; the message says what and what to do."""


class FirstTokenUnavailable(ServerError):
    """The server gives no log-probability for a text's first token (llama-cpp-python's)."""


def connect(
    base_url,
    model=None,
    *,
    tokenizer=None,
    api_key=None,
    max_concurrency=4,
    timeout=60,
    max_retries=3,
    context_length=None,
    label_fallback=False,
):
    """Connect to a model behind an OpenAI-compatible server.

    Parameters
    ----------
    base_url : str
        As OpenAI clients take it, e.g. ``"http://127.0.0.1:8000/v1"``.
    model : str, optional
        The served model's name; optional when the server serves exactly one.
    tokenizer : transformers tokenizer, optional
        The model's tokenizer (:func:`llmlab.load_tokenizer` on the same GGUF file or
        folder). Needed to score: the server takes strings, and the client checks that they
        tokenize to the ids it must score. Scorers and generators also take it next to the
        served model (``llmlab.classify(served, tok, ...)``).
    api_key : str, optional
        Sent as ``Authorization: Bearer ...``.
    max_concurrency : int, default=4
        Requests in flight at once.
    timeout : float, default=60
        Seconds one HTTP attempt may take.
    max_retries : int, default=3
        Retries of an attempt that failed with a connection error, 429 or 5xx.
    context_length : int, optional
        The server's context in tokens, if its ``/models`` answer does not say
        (vLLM's does, as ``max_model_len``; llama-cpp-python's does not).
    label_fallback : bool, default=False
        For servers that return no prompt log-probabilities (Ollama, llama.cpp's
        ``llama-server``): score requests whose continuations are single tokens (labels
        whose first tokens differ, as in :func:`llmlab.classify`) from the top log-probs of
        a one-token completion after the prompt. **Approximate**: the server's sampler
        settings and top-k cut may shape those numbers, and a label outside the top ones is
        an error. Everything else still needs prompt log-probs.

    Returns
    -------
    ServedModel
        Accepted wherever a loaded model is (perplexity, classify, multiple choice, report).

    Raises
    ------
    ServerError
        Nothing listening at ``base_url`` (within seconds, naming the URL), a wrong model
        name (the served ones are listed), or an answer that is not an OpenAI ``/models``.

    Examples
    --------
    >>> import llmlab  # doctest: +SKIP
    >>> tok = llmlab.load_tokenizer("tiny-llama.gguf")  # doctest: +SKIP
    >>> served = llmlab.connect("http://127.0.0.1:8000/v1", tokenizer=tok)  # doctest: +SKIP
    >>> llmlab.perplexity(served, tok, ["def f(): pass"]).perplexity  # doctest: +SKIP
    """
    for name, value, low in (("max_concurrency", max_concurrency, 1),
                             ("max_retries", max_retries, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}={value!r} must be an int >= {low}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout={timeout!r} must be a positive number of seconds")
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ValueError(
            f"base_url={base_url!r} must be an http(s) URL such as 'http://127.0.0.1:8000/v1'"
        )
    served = ServedModel(base_url, model, tokenizer=tokenizer, api_key=api_key,
                         max_concurrency=max_concurrency, timeout=timeout,
                         max_retries=max_retries, context_length=context_length,
                         label_fallback=label_fallback)
    served.check_model()
    return served


class ServedModel(Backend):
    """A model behind an OpenAI-compatible server (made by :func:`connect`)."""

    def __init__(self, base_url, model=None, *, tokenizer=None, api_key=None,
                 max_concurrency=4, timeout=60, max_retries=3, context_length=None,
                 label_fallback=False):
        self.base_url = base_url.rstrip("/")
        self.label_fallback = label_fallback
        self.top_k = 20
        self.model = model
        self.tokenizer = tokenizer
        self.api_key = api_key
        self.max_concurrency = max_concurrency
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.context_length = context_length
        self._checked = False
        self._probed = False

    def __repr__(self):
        return f"ServedModel({self.base_url!r}, model={self.model!r})"

    @property
    def info(self) -> Provenance:
        return Provenance(source=f"{self.base_url} ({self.model})", format="server",
                          backend="server")

    # -- HTTP -------------------------------------------------------------------------------
    def _send(self, method, url, payload=None) -> bytes:
        """One HTTP attempt (no retry); the raw answer body."""
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return response.read()

    def _http(self, method, path, payload=None):
        """One call with retries; returns the decoded JSON answer."""
        url = self.base_url + path
        last = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(min(0.25 * 2 ** (attempt - 1), 4.0))
            try:
                body = self._send(method, url, payload)
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", "replace")
                last = ServerError(f"{method} {url} answered HTTP {exc.code}: {detail}")
                last.status = exc.code
                if exc.code in _RETRY_STATUS:
                    continue
                raise last from None
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                last = ServerError(
                    f"no answer from {url}: {reason}. Is the server running and is the URL "
                    f"right (base_url like 'http://127.0.0.1:8000/v1')?"
                )
                last.status = None
                continue
            try:
                return json.loads(body)
            except ValueError:
                raise ServerError(
                    f"{method} {url} answered something that is not JSON (truncated or not an "
                    f"OpenAI-compatible server): {body[:200]!r}"
                ) from None
        raise ServerError(f"{last} (after {self.max_retries + 1} attempts)") from None

    # -- checks -------------------------------------------------------------------------
    def check_model(self):
        """Check that the server answers ``/models`` and serves ``self.model``."""
        answer = self._http("GET", "/models")
        entries = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ServerError(
                f"{self.base_url}/models did not answer an OpenAI model list: {answer!r:.200}"
            )
        ids = [e.get("id") for e in entries]
        if self.model is None:
            if len(ids) != 1:
                raise ServerError(f"the server serves {ids}; pass model= one of them")
            self.model = ids[0]
        elif self.model not in ids:
            raise ServerError(
                f"model={self.model!r} is not served at {self.base_url}; it serves {ids}"
            )
        entry = entries[ids.index(self.model)]
        if self.context_length is None and isinstance(entry.get("max_model_len"), int):
            self.context_length = entry["max_model_len"]

    def set_tokenizer(self, tokenizer):
        """Deprecated: pass the tokenizer to :func:`connect`, or next to the served model
        (:meth:`with_tokenizer` gives a copy that uses another one)."""
        import warnings

        warnings.warn("ServedModel.set_tokenizer is deprecated and will be removed in the "
                      "next release; pass tokenizer= to llmlab.connect, or the tokenizer next "
                      "to the served model (llmlab.classify(served, tok, ...))",
                      FutureWarning, stacklevel=2)
        if tokenizer is not self.tokenizer:
            self.tokenizer = tokenizer
            self._checked = False

    def check_tokenizer(self):
        """The tokenizer is checked against the server's at the first request."""
        self._checked = False
        self._probed = False

    def _tokenize_on_server(self, text):
        """The server's ids for ``text``, or None where it has no tokenize endpoint."""
        for path, payload, key in (
            ("/extras/tokenize", {"input": text, "model": self.model}, "tokens"),  # llama-cpp
            ("/tokenize", {"prompt": text, "model": self.model}, "tokens"),  # vLLM
        ):
            for base in (self.base_url, self.base_url.rsplit("/v1", 1)[0]):
                try:
                    answer = json.loads(self._send("POST", base + path, payload))
                except urllib.error.HTTPError as exc:
                    if exc.code in (404, 405):
                        continue
                    raise
                except (urllib.error.URLError, OSError, ValueError):
                    continue
                if isinstance(answer, dict) and isinstance(answer.get(key), list):
                    return [int(t) for t in answer[key]]
        return None

    def _probe_tokenizer(self, what="score"):
        """Compare the local tokenizer with the server's (where it has a tokenize endpoint)."""
        if getattr(self, "_probed", False):
            return
        tok = self.tokenizer
        if tok is None:
            raise ServerError(
                f"a served model needs its tokenizer to {what}: connect(..., tokenizer=tok) "
                "with tok = llmlab.load_tokenizer(<the same GGUF file or folder>)"
            )
        local = list(tok(PROBE_TEXT, add_special_tokens=True)["input_ids"])
        remote = self._tokenize_on_server(PROBE_TEXT)
        if remote is not None and remote != local:
            raise ServerError(
                f"the server's tokenizer does not match the local one: {PROBE_TEXT!r} is "
                f"{remote[:12]}... there and {local[:12]}... here. Pass the tokenizer of the "
                f"served model (llmlab.load_tokenizer on the same GGUF file)."
            )
        self._probed = True

    def _check(self):
        if self._checked:
            return
        self._probe_tokenizer()
        local = list(self.tokenizer(PROBE_TEXT, add_special_tokens=True)["input_ids"])
        logps, n_prompt = self._echo(self._prompt_text(local))
        base = self._base(local, n_prompt)
        if logps[0] is not None or any(v is None for v in logps[1:]):
            raise ServerError(
                "the server's prompt log-probs are not aligned as the OpenAI format says (the "
                "first echoed entry null, every later one a number); they cannot be trusted "
                f"for scoring (got {logps[:3]}... with the echo starting at token {base})"
            )
        self._checked = True

    # -- scoring --------------------------------------------------------------------------
    def _bos_offset(self, ids):
        bos = getattr(self.tokenizer, "bos_token_id", None)
        return 1 if bos is not None and ids and ids[0] == bos else 0

    def _prompt_text(self, ids):
        return self.tokenizer.decode(ids[self._bos_offset(ids):], skip_special_tokens=False,
                                     clean_up_tokenization_spaces=False)

    def _echo(self, text):
        """Prompt log-probs (one per prompt token after BOS; None for a null) and their count."""
        answer = self._http("POST", "/completions", {
            "model": self.model, "prompt": text, "max_tokens": 1, "temperature": 0.0,
            "echo": True, "logprobs": 1,
        })
        try:
            choice = answer["choices"][0]
            logprobs = choice.get("logprobs")
        except (KeyError, IndexError, TypeError):
            raise ServerError(
                f"{self.base_url}/completions answered without choices: {answer!r:.200}"
            ) from None
        if not logprobs or not isinstance(logprobs.get("token_logprobs"), list):
            raise ServerError(
                f"the server at {self.base_url} returned no prompt log-probabilities (it "
                f"ignores echo=true with logprobs). llmlab scores text with them: serve the "
                f"model with llama-cpp-python's server (python -m llama_cpp.server) or vLLM; "
                f"Ollama and llama.cpp's llama-server cannot give them. Or load the GGUF "
                f"in process: llmlab.load_model(path, backend='llama.cpp')."
            )
        values = logprobs["token_logprobs"]
        usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
        generated = usage.get("completion_tokens")
        if not isinstance(generated, int) or not 0 <= generated <= len(values):
            generated = min(1, len(values))  # max_tokens is 1
        n_prompt = len(values) - generated
        return values[:n_prompt], n_prompt

    def _base(self, ids, n_prompt):
        """Index shift of the echoed entries: 0 where the echo includes BOS (vLLM), 1 where
        it starts after it (llama-cpp-python); anything else is an error."""
        offset = self._bos_offset(ids)
        if n_prompt == len(ids):
            return 0
        if n_prompt == len(ids) - offset:
            return offset
        raise ServerError(
            f"the server echoed {n_prompt} prompt tokens for a sequence of {len(ids)} tokens; "
            f"its tokenization differs from the local tokenizer's (pass the served model's "
            f"tokenizer)"
        )

    def _score_sequence(self, ids, score_from):
        ids = list(ids)
        offset = self._bos_offset(ids)
        text = self._prompt_text(ids)
        again = list(self.tokenizer(text, add_special_tokens=True)["input_ids"])
        if again != ids:
            why = ("it does not start with BOS but the server adds one" if offset == 0 and
                   again[1:] == ids else "decoding and re-encoding changes its tokens")
            raise ServerError(
                f"a sequence of {len(ids)} tokens cannot be sent to the server as text: {why}. "
                f"The server takes strings, so llmlab can only score sequences that survive "
                f"that round trip (with a server that prepends BOS, every window must start "
                f"at the text's start: use max_length >= the longest text). Servers that take "
                f"token ids, or llmlab.load_model(path, backend='llama.cpp'), score any window."
            )
        values, n_prompt = self._echo(text)
        base = self._base(ids, n_prompt)
        out = np.empty(len(ids) - score_from, dtype=np.float64)
        for k, pos in enumerate(range(score_from, len(ids))):
            value = values[pos - base]
            if value is None:
                if base == 1 and pos == 1:
                    raise FirstTokenUnavailable(
                        "this server returns no log-probability for the first token after BOS "
                        "(the OpenAI format's null; llama-cpp-python's server cannot give it "
                        "any other way), so it cannot score a text's first token, which "
                        "perplexity needs. Score perplexity with the GGUF in process "
                        "(llmlab.load_model(path, backend='llama.cpp')) or with vLLM (its echo "
                        "includes BOS); continuations (classify, multiple choice) work here."
                    )
                raise ServerError(f"the server returned no log-prob for token {pos}")
            out[k] = float(value)
            if not math.isfinite(out[k]):
                raise ServerError(f"the server returned a log-prob of {value} for token {pos}")
        return out

    def _next_token_logprobs(self, context, candidates):
        """Approximate log-probs of single-token ``candidates`` after ``context``, from the
        top log-probs of a one-token completion (:func:`connect`'s ``label_fallback``)."""
        answer = self._http("POST", "/completions", {
            "model": self.model, "prompt": self._prompt_text(list(context)), "max_tokens": 1,
            "temperature": 0.0, "logprobs": self.top_k,
        })
        try:
            top = answer["choices"][0]["logprobs"]["top_logprobs"][0]
        except (KeyError, IndexError, TypeError):
            raise ServerError(
                f"the server at {self.base_url} returned no top log-probs either; it cannot "
                f"score labels"
            ) from None
        out = []
        for token in candidates:
            piece = self.tokenizer.decode([token], clean_up_tokenization_spaces=False)
            if piece not in top:
                raise ServerError(
                    f"label token {piece!r} is not among the server's top {self.top_k} "
                    f"log-probs after the prompt; the fallback cannot score it"
                )
            out.append(np.array([float(top[piece])]))
        return out

    def score_batch(self, requests):
        if self.label_fallback and all(len(c) == 1 for r in requests for c in r.continuations):
            if self.tokenizer is None:
                self._check()  # raises the missing-tokenizer error
            with ThreadPoolExecutor(self.max_concurrency) as pool:
                return list(pool.map(
                    lambda r: self._next_token_logprobs(r.context,
                                                        [c[0] for c in r.continuations]),
                    requests))
        self._check()
        jobs = [(r, k) for r, req in enumerate(requests) for k in range(len(req.continuations))]
        out = [[None] * len(req.continuations) for req in requests]

        def run(job):
            r, k = job
            req = requests[r]
            return self._score_sequence(req.context + req.continuations[k], len(req.context))

        if self.max_concurrency == 1 or len(jobs) == 1:
            results = [run(job) for job in jobs]
        else:
            with ThreadPoolExecutor(self.max_concurrency) as pool:
                results = list(pool.map(run, jobs))  # re-raises the first failure
        for (r, k), res in zip(jobs, results):
            out[r][k] = res
        return out

    # -- generation ---------------------------------------------------------------------
    def _complete(self, ids, settings):
        """One ``/completions`` call continuing the prompt ``ids``."""
        payload = {
            "model": self.model, "prompt": self._prompt_text(list(ids)),
            "max_tokens": settings.max_new_tokens, "temperature": settings.temperature,
            "top_p": settings.top_p, "repeat_penalty": 1.0, "top_k": 0, "min_p": 0.0,
        }
        if settings.stop:
            payload["stop"] = list(settings.stop)
        if settings.seed is not None:
            payload["seed"] = settings.seed
        answer = self._http("POST", "/completions", payload)
        try:
            choice = answer["choices"][0]
            text = choice["text"]
        except (KeyError, IndexError, TypeError):
            raise ServerError(
                f"{self.base_url}/completions answered without a completion: {answer!r:.200}"
            ) from None
        usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
        n_new = usage.get("completion_tokens")
        if not isinstance(n_new, int):
            n_new = len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        # OpenAI's "stop" covers both an end of sequence and a stop string (already cut)
        reason = {"length": "length", "stop": "stop" if settings.stop else "eos"}.get(
            choice.get("finish_reason"))
        return None, text, n_new, reason

    def _generate_batch(self, prompt_ids, settings):
        self._probe_tokenizer("generate")
        if self.max_concurrency == 1 or len(prompt_ids) == 1:
            return [self._complete(ids, settings) for ids in prompt_ids]
        with ThreadPoolExecutor(self.max_concurrency) as pool:
            return list(pool.map(lambda ids: self._complete(ids, settings), prompt_ids))
