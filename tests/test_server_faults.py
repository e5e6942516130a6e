"""Faults of a served model that a real server cannot be made to produce on demand.

A small fake OpenAI-compatible server stands in for exactly these faults (answers that are
not JSON or cut short, HTTP 500 for a while then recovery, no answer at all, a server with no
prompt log-probabilities); everything else is tested against a real llama-cpp-python server
in tests/test_llamacpp.py. The fake computes its log-probs from a fixed bigram table, so the
correct result is known.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import llmlab
from llmlab.backends.server import ServerError

VOCAB = "abcdefghij"
BOS = 1


class CharTokenizer:
    """ids: BOS=1, then 2 + index in 'abcdefghij'; decode inverts it."""

    bos_token_id = BOS
    pad_token_id = 0

    def __len__(self):
        return 2 + len(VOCAB)

    def __call__(self, texts, add_special_tokens=True):
        single = isinstance(texts, str)
        texts = [texts] if single else texts
        ids = [([BOS] if add_special_tokens else []) + [2 + VOCAB.index(c) for c in t if c in VOCAB]
               for t in texts]
        return {"input_ids": ids[0] if single else ids}

    def decode(self, ids, **kwargs):
        return "".join(VOCAB[i - 2] if i >= 2 else "" for i in ids)


TABLE = np.log(np.random.default_rng(0).dirichlet(np.ones(12), size=12))


class Fake(BaseHTTPRequestHandler):
    mode = "ok"
    echo_bos = True
    failures_left = 0
    calls = 0

    def log_message(self, *args):
        pass

    def _send(self, status, body: bytes):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:  # the client gave up waiting (the timeout test)
            pass

    def do_GET(self):
        self._send(200, json.dumps({"object": "list", "data": [{"id": "fake"}]}).encode())

    def do_POST(self):
        cls = type(self)
        cls.calls += 1
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.endswith("tokenize"):
            ids = CharTokenizer()(payload.get("input") or payload.get("prompt"))["input_ids"]
            return self._send(200, json.dumps({"tokens": ids}).encode())
        if cls.mode == "hang":
            time.sleep(3)
            return self._send(200, b"{}")
        if cls.mode == "flaky" and cls.failures_left > 0:
            cls.failures_left -= 1
            return self._send(500, b'{"error": "busy"}')
        if cls.mode == "notjson":
            return self._send(200, b"<html>proxy error</html>")
        if cls.mode == "truncated":
            return self._send(200, b'{"choices": [{"logprobs": {"token_lo')
        ids = CharTokenizer()(payload["prompt"])["input_ids"]
        if cls.echo_bos:  # vLLM: the echo starts at BOS (null), every text token has a value
            values = [None] + [float(TABLE[ids[p - 1], ids[p]]) for p in range(1, len(ids))]
        else:  # llama-cpp-python: the echo starts after BOS, and its first entry is null
            values = [None] + [float(TABLE[ids[p - 1], ids[p]]) for p in range(2, len(ids))]
        values.append(-0.5)  # the generated token
        if cls.mode == "nologprobs":
            return self._send(200, json.dumps({"choices": [{"text": "x"}]}).encode())
        answer = {"choices": [{"text": payload["prompt"] + "x",
                               "logprobs": {"token_logprobs": values,
                                            "tokens": ["?"] * len(values)}}],
                  "usage": {"completion_tokens": 1}}
        self._send(200, json.dumps(answer).encode())


@pytest.fixture()
def fake():
    handler = type("Handler", (Fake,), {"mode": "ok", "failures_left": 0, "calls": 0,
                                        "echo_bos": True})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


TEXTS = ["abcabcj", "jihg", "ab"]


def expected_nll(text):
    ids = CharTokenizer()(text)["input_ids"]
    return -sum(TABLE[ids[p - 1], ids[p]] for p in range(1, len(ids)))


def test_fake_server_gives_the_known_answer(fake):
    _, url = fake
    tok = CharTokenizer()
    res = llmlab.perplexity(llmlab.connect(url, tokenizer=tok), tok, TEXTS, max_length=20)
    np.testing.assert_allclose(res.per_text_nll, [expected_nll(t) for t in TEXTS], rtol=1e-12)


def test_an_echo_without_the_first_token_scores_continuations_but_not_perplexity(fake):
    """llama-cpp-python's layout: the token after BOS gets null; the real server is tested
    for the same in tests/test_llamacpp.py."""
    handler, url = fake
    handler.echo_bos = False
    tok = CharTokenizer()
    served = llmlab.connect(url, tokenizer=tok)
    with pytest.raises(ServerError, match="no log-probability for the first token after BOS"):
        llmlab.perplexity(served, tok, TEXTS, max_length=20)
    from llmlab.tasks import score_choices

    got = score_choices(served, tok, ["abc"], [["d", "jj"]])
    ctx = tok("abc")["input_ids"]
    want = [TABLE[ctx[-1], 5], TABLE[ctx[-1], 11] + TABLE[11, 11]]
    np.testing.assert_allclose(got.loglikelihoods[0], want, rtol=1e-12)


def test_500s_for_a_while_are_retried_with_the_same_result(fake):
    handler, url = fake
    tok = CharTokenizer()
    ok = llmlab.perplexity(llmlab.connect(url, tokenizer=tok), tok, TEXTS, max_length=20)
    handler.mode, handler.failures_left = "flaky", 3
    again = llmlab.perplexity(llmlab.connect(url, tokenizer=tok, max_retries=3), tok, TEXTS,
                              max_length=20)
    assert again.nll == ok.nll and handler.failures_left == 0
    handler.failures_left = 10
    with pytest.raises(ServerError, match=r"HTTP 500.*after 2 attempts"):
        llmlab.perplexity(llmlab.connect(url, tokenizer=tok, max_retries=1), tok, TEXTS,
                          max_length=20)


@pytest.mark.parametrize("mode,match", [
    ("notjson", "not JSON"),
    ("truncated", "not JSON"),
    ("nologprobs", "returned no prompt log-probabilities.*llama-cpp-python"),
])
def test_bad_answers_are_named(fake, mode, match):
    handler, url = fake
    tok = CharTokenizer()
    served = llmlab.connect(url, tokenizer=tok)
    handler.mode = mode
    with pytest.raises(ServerError, match=match):
        llmlab.perplexity(served, tok, TEXTS, max_length=20)


def test_a_server_that_never_answers_times_out(fake):
    handler, url = fake
    tok = CharTokenizer()
    served = llmlab.connect(url, tokenizer=tok, timeout=0.5, max_retries=1)
    handler.mode = "hang"
    t0 = time.perf_counter()
    with pytest.raises(ServerError, match="no answer from .*after 2 attempts"):
        llmlab.perplexity(served, tok, TEXTS, max_length=20)
    assert time.perf_counter() - t0 < 10


def test_results_identical_at_any_concurrency(fake):
    _, url = fake
    tok = CharTokenizer()
    texts = [VOCAB[i % 10:] + VOCAB[: i % 7] for i in range(30)]
    runs = [llmlab.perplexity(llmlab.connect(url, tokenizer=tok, max_concurrency=c), tok,
                              texts, max_length=30, batch_size=16).per_text_nll
            for c in (1, 4, 8)]
    assert runs[0] == runs[1] == runs[2]


def test_connect_bad_arguments(fake):
    _, url = fake
    with pytest.raises(ValueError, match="base_url='localhost:8000' must be an http"):
        llmlab.connect("localhost:8000")
    with pytest.raises(ValueError, match="max_concurrency=0"):
        llmlab.connect(url, max_concurrency=0)
    with pytest.raises(ValueError, match="timeout=-1"):
        llmlab.connect(url, timeout=-1)
    from llmlab.scoring import Request, score_requests

    with pytest.raises(ServerError, match="needs its tokenizer"):
        score_requests(llmlab.connect(url), [Request((BOS,), ((2,),))])


def test_the_tokenizer_goes_with_the_served_model_not_into_it(fake):
    """A scorer given another tokenizer uses a copy of the served model that holds it; the
    connected model keeps its own. set_tokenizer still works for a release, with a warning."""
    _, url = fake
    tok, other = CharTokenizer(), CharTokenizer()
    served = llmlab.connect(url, tokenizer=tok)
    res = llmlab.perplexity(served, other, TEXTS, max_length=20)
    np.testing.assert_allclose(res.per_text_nll, [expected_nll(t) for t in TEXTS], rtol=1e-12)
    assert served.tokenizer is tok
    with pytest.warns(FutureWarning, match="set_tokenizer is deprecated"):
        served.set_tokenizer(other)
    assert served.tokenizer is other
