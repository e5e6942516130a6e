"""llmlab.perplexity against an independent float64 loop, written here without the library.

The reference scores every token t >= 1 with its own forward pass over exactly the context
the design promises it: tokens [0, t) if t falls in the first window, else the
``max_length - 1`` ... tokens of the window it belongs to, found by arithmetic on the window
ends (max_length, max_length + stride, ...), not by calling llmlab's window planner.
"""

import copy
import math

import numpy as np
import pytest
import torch

import llmlab
from llmlab.perplexity import plan_windows

TEXTS = [
    "The quick brown fox jumps over the lazy dog. " * 3,
    "def add(a, b):\n    return a + b\n",
    "Return the number of items in a container.",
    "ok",
    "Perplexity is the exponential of the mean negative log-likelihood, " * 2,
]


def _context_start(t, n, max_length, stride):
    """Where the window that scores token t starts (design semantics, by arithmetic)."""
    if t < max_length:
        return 0
    k = math.ceil((t + 1 - max_length) / stride)
    end = min(max_length + k * stride, n)
    return end - max_length


def reference(model, tokenizer, texts, max_length, stride):
    """Per-token float64 loop: returns (total nll, n tokens, per-text nll list)."""
    per_text = []
    n_scored = 0
    for text in texts:
        ids = tokenizer(text)["input_ids"]
        total = 0.0
        for t in range(1, len(ids)):
            start = _context_start(t, len(ids), max_length, stride)
            assert t - start >= min(t, max_length - stride)
            context = torch.tensor([ids[start:t]])
            with torch.no_grad():
                logits = model(input_ids=context).logits[0, -1].double()
            total += -torch.log_softmax(logits, -1)[ids[t]].item()
            n_scored += 1
        per_text.append(total)
    return sum(per_text), n_scored, per_text


_REF_CACHE = {}


@pytest.fixture(scope="module")
def loaded(tiny_llama_dir, tiny_mistral_dir):
    out = {}
    for name, path in (("llama", tiny_llama_dir), ("mistral", tiny_mistral_dir)):
        model = llmlab.load_model(path)
        out[name] = (model, llmlab.load_tokenizer(path), copy.deepcopy(model).double())
    return out


@pytest.mark.parametrize("arch", ["llama", "mistral"])
@pytest.mark.parametrize(
    "max_length,stride",
    [(96, 48), (16, 15), (16, 8), (12, 5), (8, 7),  # long, disjoint-ish, overlapping
     # stride 1: a window per token; its float64 reference is the costliest (full tier only)
     pytest.param(16, 1, marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_matches_float64_reference(loaded, arch, max_length, stride, batch_size):
    model, tok, model64 = loaded[arch]
    key = (arch, max_length, stride)
    if key not in _REF_CACHE:
        _REF_CACHE[key] = reference(model64, tok, TEXTS, max_length, stride)
    ref_nll, ref_n, ref_per_text = _REF_CACHE[key]
    res = llmlab.perplexity(
        model, tok, TEXTS, max_length=max_length, stride=stride, batch_size=batch_size
    )
    assert res.n_tokens == ref_n == sum(len(tok(t)["input_ids"]) - 1 for t in TEXTS)
    assert res.nll == pytest.approx(ref_nll, rel=1e-5)
    assert res.per_text_nll == pytest.approx(ref_per_text, rel=1e-5)
    assert res.perplexity == pytest.approx(math.exp(ref_nll / ref_n), rel=1e-5)
    n_bytes = sum(len(t.encode()) for t in TEXTS)
    assert res.n_bytes == n_bytes
    assert res.bits_per_byte == pytest.approx(ref_nll / (math.log(2) * n_bytes), rel=1e-5)
    assert res.per_text == pytest.approx(
        [math.exp(n / (len(tok(t)["input_ids"]) - 1)) for n, t in zip(ref_per_text, TEXTS)],
        rel=1e-5,
    )


def test_corpus_perplexity_is_token_weighted_not_mean_of_texts(loaded):
    model, tok, _ = loaded["llama"]
    res = llmlab.perplexity(model, tok, TEXTS)
    assert res.perplexity == pytest.approx(math.exp(sum(res.per_text_nll) / res.n_tokens))
    assert res.perplexity != pytest.approx(float(np.mean(res.per_text)), rel=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("quantization", ["8bit", "4bit"])
def test_quantized_batched_equals_unbatched_reference(tiny_mistral_dir, quantization):
    model = llmlab.load_model(tiny_mistral_dir, quantization=quantization)
    tok = llmlab.load_tokenizer(tiny_mistral_dir)
    ref_nll, ref_n, _ = reference(model, tok, TEXTS, 16, 8)
    res = llmlab.perplexity(model, tok, TEXTS, max_length=16, stride=8, batch_size=4)
    assert res.n_tokens == ref_n
    assert res.nll == pytest.approx(ref_nll, rel=1e-5)


def test_bfloat16_model_close_to_float32(loaded, tiny_llama_dir):
    model, tok, _ = loaded["llama"]
    bf16 = llmlab.load_model(tiny_llama_dir, dtype="bfloat16")
    a = llmlab.perplexity(model, tok, TEXTS, max_length=16, stride=8)
    b = llmlab.perplexity(bf16, tok, TEXTS, max_length=16, stride=8, batch_size=2)
    assert b.perplexity == pytest.approx(a.perplexity, rel=2e-2)


def test_standard_error_is_per_token(loaded):
    model, tok, model64 = loaded["llama"]
    res = llmlab.perplexity(model, tok, TEXTS, max_length=16, stride=8)
    nlls = []
    for text in TEXTS:
        ids = tok(text)["input_ids"]
        for t in range(1, len(ids)):
            start = _context_start(t, len(ids), 16, 8)
            with torch.no_grad():
                logits = model64(input_ids=torch.tensor([ids[start:t]])).logits[0, -1]
            nlls.append(-torch.log_softmax(logits, -1)[ids[t]].item())
    nlls = np.array(nlls)
    assert res.nll_stderr == pytest.approx(nlls.std(ddof=1) / math.sqrt(len(nlls)), rel=1e-4)
    assert res.perplexity_stderr == pytest.approx(res.perplexity * res.nll_stderr)


def test_model_and_tokenizer_untouched(loaded):
    model, tok, _ = loaded["llama"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pad, side, training = tok.pad_token, tok.padding_side, model.training
    llmlab.perplexity(model, tok, TEXTS, max_length=16, stride=4, batch_size=3)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert (tok.pad_token, tok.padding_side, model.training) == (pad, side, training)


def test_single_string_and_progress(loaded, capsys):
    model, tok, _ = loaded["llama"]
    a = llmlab.perplexity(model, tok, TEXTS[1])
    b = llmlab.perplexity(model, tok, [TEXTS[1]], progress=True)
    assert a.nll == pytest.approx(b.nll, rel=1e-9)
    assert "perplexity" in capsys.readouterr().err


def test_plan_windows_scores_every_token_once():
    for n in range(2, 60):
        for max_length in (2, 3, 8, 17):
            for stride in range(1, max_length):
                windows = plan_windows(n, max_length, stride)
                scored = [t for _, e, f in windows for t in range(f, e)]
                assert scored == list(range(1, n))
                for s, e, f in windows:
                    assert 0 <= s < f <= e <= n and e - s <= max_length
                    if s > 0:
                        assert e - s == max_length and f - s >= max_length - stride


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "texts,exc,match",
    [
        ([], ValueError, "texts is empty"),
        ("", ValueError, r"texts\[0\] is empty"),
        (["fine text", "   "], ValueError, r"texts\[1\] is empty"),
        ([b"bytes"], TypeError, r"texts\[0\] is a bytes"),
        (None, ValueError, "texts is None"),
        (3, TypeError, "string or a list"),
    ],
)
def test_bad_texts(loaded, texts, exc, match):
    model, tok, _ = loaded["llama"]
    with pytest.raises(exc, match=match):
        llmlab.perplexity(model, tok, texts)


def test_text_too_short(loaded, tiny_llama_dir):
    from transformers import AutoTokenizer

    model, _, _ = loaded["llama"]
    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    tok._tokenizer.post_processor = None  # no BOS: a one-token text has nothing to score
    with pytest.raises(ValueError, match=r"texts\[0\] is too short to score.*1 token"):
        llmlab.perplexity(model, tok, ["a"])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(max_length=16, stride=16), r"stride=16 must be smaller than max_length=16"),
        (dict(max_length=16, stride=20), r"stride=20 must be smaller"),
        (dict(max_length=16, stride=0), r"stride=0 must be positive"),
        (dict(max_length=16, stride=-3), r"stride=-3 must be positive"),
        (dict(max_length=1000), r"max_length=1000 is beyond the model's context length \(96"),
        (dict(max_length=1), r"max_length=1 is too small"),
        (dict(batch_size=0), r"batch_size=0"),
    ],
)
def test_bad_windows(loaded, kwargs, match):
    model, tok, _ = loaded["llama"]
    with pytest.raises(ValueError, match=match):
        llmlab.perplexity(model, tok, TEXTS, **kwargs)


class _NoLogitsToKeep(torch.nn.Module):
    """Wraps a model behind a forward that cannot take ``logits_to_keep`` (a custom model)."""

    def __init__(self, model):
        super().__init__()
        self.inner = model
        self.config = model.config
        self.calls = []

    def forward(self, input_ids=None, attention_mask=None):
        self.calls.append(input_ids.shape)
        return self.inner(input_ids=input_ids, attention_mask=attention_mask)


class _WrongRows(_NoLogitsToKeep):
    """Takes ``logits_to_keep`` but ignores it and drops a row: a broken custom forward."""

    def forward(self, input_ids=None, attention_mask=None, logits_to_keep=0):
        out = self.inner(input_ids=input_ids, attention_mask=attention_mask)
        out.logits = out.logits[attention_mask.bool()][1:]
        return out


def _ragged_batch(tok):
    from llmlab.backends.transformers import pad_right

    ids, mask = pad_right([tok(t)["input_ids"] for t in TEXTS], tok.pad_token_id)
    keep = torch.zeros(ids.shape, dtype=torch.bool)
    for row in range(len(TEXTS)):
        n = int(mask[row].sum())
        keep[row, max(0, n - 4) : n - 1] = True  # a different span in each row
    keep[0, 0] = True
    return ids, mask, keep


@pytest.mark.parametrize("arch", ["llama", "mistral"])
def test_logits_at_equals_full_logits_sliced(loaded, arch):
    from llmlab.backends.transformers import TransformersBackend, _takes_bool_logits_to_keep

    def logits_at(m, ids, mask, keep):
        return TransformersBackend(m).logits_at(ids, mask, keep)

    model, tok, _ = loaded[arch]
    ids, mask, keep = _ragged_batch(tok)
    assert _takes_bool_logits_to_keep(model)
    with torch.no_grad():
        full = model(input_ids=ids, attention_mask=mask).logits
        got = logits_at(model, ids, mask, keep)
        wrapped = _NoLogitsToKeep(model)
        fallback = logits_at(wrapped, ids, mask, keep)
    assert got.shape == (int(keep.sum()), model.config.vocab_size)
    torch.testing.assert_close(got, full[keep], rtol=1e-5, atol=1e-5)
    assert not _takes_bool_logits_to_keep(wrapped)
    assert wrapped.calls == [ids.shape]
    torch.testing.assert_close(fallback, full[keep], rtol=0, atol=0)


def test_perplexity_without_logits_to_keep_matches(loaded):
    model, tok, _ = loaded["llama"]
    fast = llmlab.perplexity(model, tok, TEXTS, max_length=16, stride=5, batch_size=3)
    slow = llmlab.perplexity(_NoLogitsToKeep(model), tok, TEXTS, max_length=16, stride=5,
                             batch_size=3)
    assert slow.n_tokens == fast.n_tokens
    assert slow.nll == pytest.approx(fast.nll, rel=1e-6)
    assert slow.per_text_nll == pytest.approx(fast.per_text_nll, rel=1e-6)


def test_logits_at_rejects_a_forward_that_returns_wrong_rows(loaded):
    from llmlab.backends.transformers import TransformersBackend

    model, tok, _ = loaded["llama"]
    ids, mask, keep = _ragged_batch(tok)
    with pytest.raises(RuntimeError, match="logit rows for .* kept positions"):
        TransformersBackend(_WrongRows(model)).logits_at(ids, mask, keep)
