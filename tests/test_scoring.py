"""The scoring core: requests, windows, the loop, and the Backend interface.

A second kind of model plugs in by implementing ``Backend.score_batch``; perplexity, classify
and multiple choice must then work unchanged. ``BigramBackend`` below is such a model, a
bigram table whose log-probabilities a float64 loop computes independently.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import llmlab
from llmlab.scoring import (
    Backend,
    Request,
    plan_windows,
    rolling_requests,
    score_requests,
)
from llmlab.tasks import score_choices

VOCAB = 12


class BigramBackend(Backend):
    """log p(next | previous token) from a fixed random table; counts what it is asked."""

    def __init__(self, context_length=None, seed=0):
        rng = np.random.default_rng(seed)
        logits = rng.normal(size=(VOCAB, VOCAB))
        self.table = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        self.context_length = context_length
        self.batches = []

    def score_batch(self, requests):
        self.batches.append(len(requests))
        out = []
        for req in requests:
            row = []
            for cont in req.continuations:
                seq = list(req.context) + list(cont)
                n = len(req.context)
                row.append(np.array([self.table[seq[p - 1], seq[p]]
                                     for p in range(n, len(seq))]))
            out.append(row)
        return out


class CharTokenizer:
    """Token ids of a text over the alphabet 'abcdefghij' (+ BOS=1), like a HF tokenizer."""

    pad_token_id = 0

    def __call__(self, texts, add_special_tokens=True):
        if isinstance(texts, str):
            texts = [texts]
        ids = [[2 + "abcdefghij".index(ch) for ch in t if ch in "abcdefghij"] for t in texts]
        if add_special_tokens:
            ids = [[1] + x for x in ids]
        return {"input_ids": ids}


def bigram_nll(table, ids):
    return -math.fsum(table[ids[p - 1], ids[p]] for p in range(1, len(ids)))


@pytest.mark.parametrize("n,max_length,stride", [
    (n, m, s) for n, m in itertools.product([1, 2, 5, 17, 40], [2, 3, 8, 16])
    for s in range(1, m)])
def test_rolling_requests_score_every_token_once(n, max_length, stride):
    ids = list(range(100, 100 + n))
    requests, owners = rolling_requests([ids], max_length, stride)
    scored = []
    for k, req in enumerate(requests):
        (cont,) = req.continuations
        assert len(req.context) >= 1 and req.longest <= max_length
        if k > 0:  # every window after the first gives max_length - stride tokens or more
            assert len(req.context) >= min(max_length - stride, n - len(cont))
        scored.extend(cont)
    assert scored == ids[1:]
    assert owners == [0] * len(requests)
    assert len(requests) == len(plan_windows(n, max_length, stride))


def test_a_new_backend_plugs_into_perplexity_unchanged():
    backend = BigramBackend(context_length=6)
    tok = CharTokenizer()
    texts = ["abcabcabcj", "jihgf", "ab"]
    res = llmlab.perplexity(backend, tok, texts, max_length=6, stride=2, batch_size=2)
    # A bigram model's windows lose nothing: the float64 loop over whole texts agrees.
    expected = [bigram_nll(backend.table, tok(t)["input_ids"][0]) for t in texts]
    assert res.per_text_nll == pytest.approx(expected, rel=1e-12)
    assert res.n_tokens == sum(len(t) for t in texts)
    assert res.perplexity == pytest.approx(math.exp(sum(expected) / res.n_tokens), rel=1e-12)
    assert max(backend.batches) <= 2


def test_a_new_backend_plugs_into_classify_and_choices():
    backend = BigramBackend()
    tok = CharTokenizer()
    # labels " a" / " bc" tokenize (spaces dropped) to [2] and [3, 4]
    out = llmlab.classify(backend, tok, ["abc", "jj"], labels=("a", "bc"), pos_label="bc",
                          template="{text}", label_template=" {label}")
    for i, text in enumerate(["abc", "jj"]):
        ctx = tok(text)["input_ids"][0]
        want = [-bigram_nll(backend.table, ctx + cont) + bigram_nll(backend.table, ctx)
                for cont in ([2], [3, 4])]
        np.testing.assert_allclose(out.label_logprobs[i], want, rtol=1e-12)
    got = score_choices(backend, tok, ["ab", "c"], [[" c", " dd"], [" e", " f", " gh"]])
    assert [len(x) for x in got.loglikelihoods] == [2, 3]
    ctx = tok("c")["input_ids"][0]
    want = -bigram_nll(backend.table, ctx + [8, 9]) + bigram_nll(backend.table, ctx)
    assert got.loglikelihoods[1][2] == pytest.approx(want, rel=1e-12)


def test_score_requests_bad_input():
    backend = BigramBackend(context_length=4)
    with pytest.raises(ValueError, match=r"texts\[0\] has no context token"):
        score_requests(backend, [Request((), ((2,),), name="texts[0]")])
    with pytest.raises(ValueError, match="a continuation encodes to no tokens"):
        score_requests(backend, [Request((1,), ((),))])
    with pytest.raises(ValueError, match=r"q7 is too long: 3 context tokens plus 2 scored "
                                         r"tokens make 5, longer than .* length 4"):
        score_requests(backend, [Request((1, 2, 3), ((4, 5),), name="q7")])
    with pytest.raises(ValueError, match="batch_size=0"):
        score_requests(backend, [Request((1,), ((2,),))], batch_size=0)
    with pytest.raises(TypeError, match="model is a str"):
        score_requests("tiny-llama", [Request((1,), ((2,),))])


def test_a_backend_that_drops_results_is_an_error():
    class Lossy(BigramBackend):
        def score_batch(self, requests):
            return super().score_batch(requests)[1:]

    with pytest.raises(RuntimeError, match="returned 1 results for 2 requests"):
        score_requests(Lossy(), [Request((1,), ((2,),)), Request((1,), ((3,),))])


def test_results_come_back_in_request_order_whatever_the_batching():
    backend = BigramBackend()
    reqs = [Request(tuple([1] * (k % 5 + 1)), ((2 + k % 9,),)) for k in range(23)]
    ref = score_requests(backend, reqs, batch_size=1)
    for bs in (2, 7, 64):
        got = score_requests(backend, reqs, batch_size=bs)
        for a, b in zip(ref, got):
            np.testing.assert_array_equal(a[0], b[0])
