"""GGUF files as llama.cpp runs them: the in-process llama.cpp backend and a real
llama-cpp-python server, against transformers on the same weights.

Both need llama-cpp-python (``pip install 'llmlab[llamacpp]'``); where it is missing the tests
skip, except on CI (``CI`` set), where ``.ci/run`` installs it and they must run.
"""

from __future__ import annotations

import os
import random
import signal
import time

import numpy as np
import pytest

import llmlab
from llmlab.backends.server import ServerError
from llmlab.datasets import load_docs, load_spam
from tools.servers import free_port, start_server, stop_server

if os.environ.get("CI"):
    import llama_cpp  # noqa: F401  (must be installed on CI)
else:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed "
                        "(pip install 'llmlab[llamacpp]')")

pytestmark = pytest.mark.slow

MODEL = "tiny-llama"


@pytest.fixture(scope="module")
def ggufs(tmp_path_factory):
    from llmlab.export_gguf import export_gguf

    out = tmp_path_factory.mktemp("gguf")
    files = {kind: str(export_gguf(MODEL, out, kind=kind)) for kind in ("f32", "q8_0")}
    files["mistral-f32"] = str(export_gguf("tiny-mistral", out, kind="f32"))
    return files


@pytest.fixture(scope="module")
def hf():
    return llmlab.load_model(MODEL), llmlab.load_tokenizer(MODEL)


@pytest.fixture(scope="module")
def cpp(ggufs):
    return llmlab.load_model(ggufs["f32"], backend="llama.cpp")


def _sample_docs(n=12, max_tokens=500):
    tok = llmlab.load_tokenizer(MODEL)
    docs = [d for d in load_docs("test") if len(tok(d)["input_ids"]) <= max_tokens]
    return random.Random(0).sample(docs, n)


def _token_logprobs(model, tok, texts):
    from llmlab.scoring import rolling_requests, score_requests

    ids = [tok(t)["input_ids"] for t in texts]
    reqs, _ = rolling_requests(ids, 512, 256)
    return np.concatenate([r[0] for r in score_requests(model, reqs, tokenizer=tok)])


def test_llamacpp_agrees_with_transformers_token_by_token(hf, cpp):
    model, tok = hf
    texts = _sample_docs()
    a = _token_logprobs(model, tok, texts)
    b = _token_logprobs(cpp, tok, texts)
    diff = np.abs(a - b)
    print(f"\nllama.cpp f32 vs transformers, {a.size} tokens: max |dlogp| {diff.max():.4f}, "
          f"mean {diff.mean():.5f} nats")
    assert diff.max() < 0.05 and diff.mean() < 0.005


def test_llamacpp_perplexity_classify_and_windows(hf, cpp):
    model, tok = hf
    docs = load_docs("test")[:20]
    ref = llmlab.perplexity(model, tok, docs, max_length=128, stride=64)
    got = llmlab.perplexity(cpp, tok, docs, max_length=128, stride=64)
    assert got.n_tokens == ref.n_tokens and got.n_windows == ref.n_windows
    rel = abs(got.perplexity / ref.perplexity - 1)
    print(f"\nllama.cpp f32 perplexity {got.perplexity:.4f} vs transformers "
          f"{ref.perplexity:.4f} (rel {rel:.2e})")
    assert rel < 0.005
    texts, _ = load_spam("test")
    texts = texts[:40]
    a = llmlab.classify(model, tok, texts)
    b = llmlab.classify(cpp, tok, texts)
    np.testing.assert_allclose(b.label_logprobs, a.label_logprobs, atol=0.05)
    assert np.mean(np.array(a.y_pred) == np.array(b.y_pred)) >= 0.95


def test_llamacpp_bad_input(ggufs, cpp, hf):
    _, tok = hf
    with pytest.raises(ValueError, match="runs a GGUF file"):
        llmlab.load_model(MODEL, backend="llama.cpp")
    with pytest.raises(ValueError, match="quantization='8bit' does not apply"):
        llmlab.load_model(ggufs["f32"], backend="llama.cpp", quantization="8bit")
    with pytest.raises(ValueError, match="backend='vllm' is not one of"):
        llmlab.load_model(ggufs["f32"], backend="vllm")
    with pytest.raises(ValueError, match=r"texts\[0\] is too long.*context length 512"):
        llmlab.classify(cpp, tok, ["word " * 700])  # checked before llama.cpp sees it
    with pytest.raises(ValueError, match="beyond the model's context length"):
        llmlab.perplexity(cpp, tok, ["a b c"], max_length=600)
    assert llmlab.memory_footprint(cpp) == os.path.getsize(ggufs["f32"])


def _summary_docs(n=10):
    return [d[:400] for d in random.Random(1).sample(load_docs("test"), n)]


@pytest.mark.parametrize("name,kind", [(MODEL, "f32"), ("tiny-mistral", "mistral-f32")])
def test_greedy_generation_on_the_f32_gguf_equals_transformers(ggufs, name, kind):
    from llmlab.generation import generate_text
    from llmlab.summaries import summarize

    model, tok = llmlab.load_model(name), llmlab.load_tokenizer(name)
    cpp = llmlab.load_model(ggufs[kind], backend="llama.cpp")
    docs = _summary_docs()
    a = generate_text(model, tok, docs, max_new_tokens=24)
    b = generate_text(cpp, tok, docs, max_new_tokens=24)
    assert [g.token_ids for g in b] == [g.token_ids for g in a]
    assert [g.finish_reason for g in b] == [g.finish_reason for g in a]
    assert summarize(cpp, tok, docs) == summarize(model, tok, docs)
    # a stop string ends llama.cpp's generation where it ends transformers'
    stops = generate_text(cpp, tok, docs, max_new_tokens=24, stop=["e", "\n"])
    assert [g.text for g in stops] == [
        g.text[: min((i for i in (g.text.find("e"), g.text.find("\n")) if i >= 0),
                     default=len(g.text))] for g in a]


def test_llamacpp_sampling_is_seeded_per_prompt(cpp, hf):
    from llmlab.generation import generate_text

    _, tok = hf
    docs = _summary_docs(4)
    kw = dict(max_new_tokens=12, temperature=1.2, top_p=0.9)
    a = generate_text(cpp, tok, docs, seed=3, **kw)
    one = [generate_text(cpp, tok, [d], seed=3, **kw)[0] for d in docs]
    other = generate_text(cpp, tok, docs, seed=4, **kw)
    assert [g.token_ids for g in a] == [g.token_ids for g in one]  # batching aside
    assert [g.token_ids for g in a] != [g.token_ids for g in other]


def test_llamacpp_checks_the_tokenizer_against_the_file(ggufs, cpp, hf):
    from llmlab.backends import as_backend
    from llmlab.backends.llamacpp import LlamaCppModel

    _, tok = hf
    other = llmlab.load_tokenizer("tiny-mistral")
    assert as_backend(cpp, tok).tokenizer is tok  # the file's own tokenizer passes
    message = r"tokenizer '.*tiny-mistral.*' does not match the GGUF file '.*tiny-llama.*gguf'"
    with pytest.raises(ValueError, match=message):
        LlamaCppModel(ggufs["f32"], tokenizer=other)
    with pytest.raises(ValueError, match=message):
        llmlab.classify(cpp, other, ["see you at lunch"])
    with pytest.raises(ValueError, match=message):
        llmlab.summaries.summarize(cpp, other, ["see you at lunch"])
    assert cpp.tokenizer is None  # the model given was not changed


def _evaluated_with_reuse(requests):
    """Tokens a llama.cpp context evaluates for ``requests`` in the order the scoring loop
    hands them over when it keeps the last sequence and evaluates only past the prefix it
    shares with it: a float-free count, by hand."""
    held, total = [], 0
    for req in requests:
        seqs = []
        if any(len(c) == 1 for c in req.continuations):
            seqs.append(list(req.context))
        seqs += [list(req.context) + list(c) for c in req.continuations if len(c) > 1]
        for seq in seqs:
            k = 0
            while k < min(len(held), len(seq)) and held[k] == seq[k]:
                k += 1
            total += len(seq) - k
            held = seq
    return total


@pytest.mark.parametrize("labels", [("ham", "spam"), ("not spam", "spam, surely")])
def test_llamacpp_prefix_reuse_changes_no_number(ggufs, hf, labels):
    from llmlab.backends.base import longest_first
    from llmlab.backends.llamacpp import LlamaCppModel
    from llmlab.prompts import render_prompts
    from llmlab.scoring import continuation_requests

    _, tok = hf
    texts, _ = load_spam("test")
    texts = texts[:24]
    fresh = LlamaCppModel(ggufs["f32"], tokenizer=tok, reuse_prefix=False)
    reused = LlamaCppModel(ggufs["f32"], tokenizer=tok)
    a = llmlab.classify(fresh, tok, texts, labels=labels, pos_label=labels[1], batch_size=8)
    b = llmlab.classify(reused, tok, texts, labels=labels, pos_label=labels[1], batch_size=8)
    np.testing.assert_array_equal(b.label_logprobs, a.label_logprobs)
    # what each evaluated: every sequence in full, or only past the shared prefix
    prompts = render_prompts(tok, llmlab.prompts.SPAM_TEMPLATE, texts)
    conts = tok([f" {lab}" for lab in labels], add_special_tokens=False)["input_ids"]
    reqs = continuation_requests(prompts, [conts] * len(prompts))
    reqs = [reqs[i] for batch in longest_first([r.longest for r in reqs], 8) for i in batch]
    full = sum(len(r.context) * any(len(c) == 1 for c in r.continuations)
               + sum(len(r.context) + len(c) for c in r.continuations if len(c) > 1)
               for r in reqs)
    assert fresh.evaluated.tokens == full
    assert reused.evaluated.tokens == _evaluated_with_reuse(reqs) < full
    print(f"\nlabels {labels}: {full} tokens evaluated from scratch, "
          f"{reused.evaluated.tokens} with the prefix reused")


# --------------------------------------------------------------------------------------
# A real llama-cpp-python server (started by tools/servers.py)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(ggufs):
    t0 = time.perf_counter()
    proc, url = start_server(ggufs["f32"])
    print(f"\nllama-cpp-python server up in {time.perf_counter() - t0:.1f} s at {url}")
    try:
        yield proc, url
    finally:
        stop_server(proc)


def _after_first_token(model, tok, texts):
    """Log-probs of every token after the first text token, each text one request."""
    from llmlab.scoring import Request, score_requests

    reqs = []
    for t in texts:
        ids = tok(t)["input_ids"]
        reqs.append(Request(tuple(ids[:2]), (tuple(ids[2:]),)))
    return np.concatenate([r[0] for r in score_requests(model, reqs, tokenizer=tok)])


def test_served_model_matches_in_process(server, hf, cpp):
    _, url = server
    model, tok = hf
    served = llmlab.connect(url, tokenizer=tok)
    texts = _sample_docs(8, max_tokens=511)
    a = _after_first_token(cpp, tok, texts)
    b = _after_first_token(served, tok, texts)
    c = _after_first_token(model, tok, texts)
    print(f"\nserver vs llama.cpp in process, {a.size} tokens: max |dlogp| "
          f"{np.abs(a - b).max():.2e}; server vs transformers: max {np.abs(c - b).max():.4f}, "
          f"mean {np.abs(c - b).mean():.5f} nats")
    np.testing.assert_allclose(b, a, atol=1e-3)
    assert abs(b.sum() / c.sum() - 1) < 0.005  # total NLL, so perplexity, within 0.5 %
    # the first token after BOS is not in llama-cpp-python's answer: perplexity says so
    from llmlab.backends.server import FirstTokenUnavailable

    with pytest.raises(FirstTokenUnavailable, match="first token after BOS"):
        llmlab.perplexity(served, tok, texts, max_length=512)
    spam, _ = load_spam("test")
    one = llmlab.classify(llmlab.connect(url, tokenizer=tok, max_concurrency=1), tok, spam[:24])
    four = llmlab.classify(llmlab.connect(url, tokenizer=tok, max_concurrency=4), tok, spam[:24])
    np.testing.assert_array_equal(one.label_logprobs, four.label_logprobs)
    np.testing.assert_allclose(one.label_logprobs, llmlab.classify(cpp, tok, spam[:24])
                               .label_logprobs, atol=1e-3)


def test_server_faults_with_the_real_server(server, hf, ggufs):
    proc, url = server
    _, tok = hf
    with pytest.raises(ServerError, match=r"model='nope' is not served .* it serves"):
        llmlab.connect(url, model="nope", tokenizer=tok)
    served = llmlab.connect(url, tokenizer=tok, max_retries=0, timeout=30)
    # a window longer than the server's context (512): the server's own error, named
    served.context_length = None  # as if the client did not know the server's context
    with pytest.raises(ServerError, match="HTTP 400.*maximum context length is 512"):
        llmlab.classify(served, tok, ["word " * 700])
    # a window that does not start at the text's start cannot go as text to a BOS server
    from llmlab.scoring import Request, score_requests

    ids = tok(next(d for d in load_docs("test") if len(tok(d)["input_ids"]) > 600))["input_ids"]
    with pytest.raises(ServerError, match="does not start with BOS but the server adds one"):
        score_requests(served, [Request(tuple(ids[256:300]), (tuple(ids[300:400]),))],
                       tokenizer=tok)
    # a tokenizer that is not the served model's
    other = llmlab.load_tokenizer("tiny-mistral")
    with pytest.raises(ServerError, match="tokenizer does not match"):
        llmlab.classify(llmlab.connect(url, tokenizer=other), other, ["see you at lunch"])


def test_nothing_listening_fails_fast_and_names_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    t0 = time.perf_counter()
    with pytest.raises(ServerError, match=url.replace(".", r"\.")):
        llmlab.connect(url, max_retries=2)
    assert time.perf_counter() - t0 < 5


def test_server_killed_mid_run_gives_no_partial_result(ggufs, hf):
    _, tok = hf
    proc, url = start_server(ggufs["f32"])
    try:
        served = llmlab.connect(url, tokenizer=tok, max_retries=1, timeout=10)
        texts, _ = load_spam("test")

        def kill_soon():
            time.sleep(1.0)
            os.killpg(proc.pid, signal.SIGKILL)

        import threading

        threading.Thread(target=kill_soon, daemon=True).start()
        with pytest.raises(ServerError, match="no answer from"):
            llmlab.classify(served, tok, texts[:400], batch_size=8)
    finally:
        stop_server(proc)
    assert proc.poll() is not None


def test_summarize_on_a_server_equals_transformers(server, hf):
    from llmlab.generation import generate_text
    from llmlab.summaries import summarize

    _, url = server
    model, tok = hf
    served = llmlab.connect(url, tokenizer=tok)
    docs = _summary_docs(6)
    assert summarize(served, tok, docs) == summarize(model, tok, docs)
    a = generate_text(served, tok, docs, max_new_tokens=16, stop=["e"])
    b = generate_text(model, tok, docs, max_new_tokens=16, stop=["e"])
    assert [g.text for g in a] == [g.text for g in b]
    assert all(g.token_ids is None and g.n_new_tokens <= 16 for g in a)
    kw = dict(max_new_tokens=12, temperature=1.2, seed=5)
    assert [g.text for g in generate_text(served, tok, docs, **kw)] == \
        [g.text for g in generate_text(served, tok, docs, **kw)]


def test_report_command_on_a_server_and_on_llamacpp(server, ggufs, capsys):
    from llmlab.cli import main

    _, url = server
    assert main(["report", "--server", url, "--model", ggufs["f32"], "--max-docs", "30",
                 "--max-messages", "60", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Report card" in out and "no perplexity" in out and "first token after BOS" in out
    assert main(["report", "--backend", "llama.cpp", "--model", ggufs["q8_0"], "--max-docs",
                 "10", "--max-messages", "40", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Report card" in out and "memory footprint" in out


def test_label_fallback_from_top_logprobs_agrees_with_prompt_logprobs(server, hf):
    """The approximate path for servers without prompt log-probs, measured against the exact
    one on the same real server."""
    _, url = server
    _, tok = hf
    texts, _ = load_spam("test")
    texts = texts[:60]
    exact = llmlab.classify(llmlab.connect(url, tokenizer=tok), tok, texts)
    approx = llmlab.classify(llmlab.connect(url, tokenizer=tok, label_fallback=True), tok, texts)
    diff = np.abs(exact.label_logprobs - approx.label_logprobs)
    agree = np.mean(np.array(exact.y_pred) == np.array(approx.y_pred))
    print(f"\nlabel fallback vs prompt log-probs on {len(texts)} messages: max |dlogp| "
          f"{diff.max():.2e}, predictions agree {agree:.1%}")
    assert agree >= 0.95 and diff.max() < 1e-3
