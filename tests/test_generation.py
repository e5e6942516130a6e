"""Generation through the backend contract, on a transformers model and on a toy backend.

The oracles: transformers' own ``model.generate`` run prompt by prompt, a greedy text cut by
hand at a stop string, and a toy backend whose outputs are a known function of the prompt.
"""

from __future__ import annotations

import pytest
import torch

import llmlab
from llmlab.backends import Backend, TransformersBackend, as_backend
from llmlab.provenance import provenance_of
from llmlab.backends.base import longest_first
from llmlab.generation import generate_text

PROMPTS = ["def add(a, b):", "Return the number of items in a container and", "x"]


@pytest.fixture(scope="module")
def llama(tiny_llama_dir):
    return llmlab.load_model(tiny_llama_dir), llmlab.load_tokenizer(tiny_llama_dir)


def _reference(model, tok, prompt, max_new_tokens):
    """Greedy new ids of one unpadded prompt, straight from model.generate."""
    ids = torch.tensor([tok(prompt)["input_ids"]])
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                             max_new_tokens=max_new_tokens, do_sample=False,
                             pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    new = out[0, ids.shape[1]:].tolist()
    return new[: new.index(tok.eos_token_id)] if tok.eos_token_id in new else new


@pytest.mark.parametrize("batch_size", [1, 2, 8])
def test_greedy_matches_model_generate_one_by_one(llama, batch_size):
    model, tok = llama
    out = generate_text(model, tok, PROMPTS, max_new_tokens=7, batch_size=batch_size)
    for prompt, gen in zip(PROMPTS, out):
        ref = _reference(model, tok, prompt, 7)
        assert list(gen.token_ids) == ref
        assert gen.text == tok.decode(ref, skip_special_tokens=True)
        assert gen.n_prompt_tokens == len(tok(prompt)["input_ids"])
        assert gen.finish_reason == ("length" if len(ref) == 7 else "eos")


def test_stop_strings_cut_the_greedy_text(llama):
    model, tok = llama
    full = generate_text(model, tok, PROMPTS, max_new_tokens=12)
    # a stop string taken from the middle of each greedy output: the text ends before it
    for prompt, gen in zip(PROMPTS, full):
        if len(gen.text) < 4:
            continue
        stop = gen.text[2:4]
        got = generate_text(model, tok, [prompt], max_new_tokens=12, stop=[stop, "\x00"])[0]
        assert got.text == gen.text[: gen.text.find(stop)]
        assert got.finish_reason == "stop" and got.n_new_tokens <= gen.n_new_tokens


def test_sampling_with_a_seed_is_reproducible_and_leaves_torch_alone(llama):
    model, tok = llama
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    kw = dict(max_new_tokens=10, temperature=1.5, top_p=0.95)
    a = generate_text(model, tok, PROMPTS, seed=7, **kw)
    assert torch.rand(1) == before  # the global generator did not move
    b = generate_text(model, tok, PROMPTS, seed=7, **kw)
    c = generate_text(model, tok, PROMPTS, seed=8, **kw)
    greedy = generate_text(model, tok, PROMPTS, max_new_tokens=10)
    assert [g.token_ids for g in a] == [g.token_ids for g in b]
    assert [g.token_ids for g in a] != [g.token_ids for g in c]
    assert [g.token_ids for g in a] != [g.token_ids for g in greedy]


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(max_new_tokens=0), ValueError, "max_new_tokens=0"),
        (dict(max_new_tokens=2, temperature=-1), ValueError, "temperature=-1"),
        (dict(max_new_tokens=2, temperature=1.0, top_p=0), ValueError, "top_p=0"),
        (dict(max_new_tokens=2, seed=-3), ValueError, "seed=-3"),
        (dict(max_new_tokens=2, stop=[""]), ValueError, "stop="),
        (dict(max_new_tokens=2, batch_size=0), ValueError, "batch_size=0"),
        (dict(max_new_tokens=90), ValueError, r"prompts\[1\].*context length 96"),
    ],
)
def test_bad_options(llama, kwargs, exc, match):
    model, tok = llama
    prompts = ["a", "word " * 20]
    with pytest.raises(exc, match=match):
        generate_text(model, tok, prompts, **kwargs)


def test_bad_prompts(llama):
    model, tok = llama
    with pytest.raises(ValueError, match="prompts is empty"):
        generate_text(model, tok, [], max_new_tokens=2)
    with pytest.raises(TypeError, match=r"prompts\[1\]"):
        generate_text(model, tok, ["a", 3], max_new_tokens=2)
    with pytest.raises(ValueError, match="has no tokenizer"):
        TransformersBackend(model).generate(["a"], max_new_tokens=2)


class EchoBackend(Backend):
    """Generates the prompt's ids reversed, then an end of sequence (counted, left out of
    the ids, as the contract says); records the batches it gets."""

    context_length = 50

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.batches = []

    def _generate_batch(self, prompt_ids, settings):
        self.batches.append([len(p) for p in prompt_ids])
        n = settings.max_new_tokens
        return [(p[::-1][:n], None, len(p) + 1 if len(p) < n else n, None)
                for p in prompt_ids]


def test_a_new_backend_generates_longest_first_in_prompt_order(llama):
    _, tok = llama
    backend = EchoBackend(tok)
    prompts = [[5, 6], [7, 8, 9, 10], [11], [12, 13, 14]]
    out = backend.generate(prompts, max_new_tokens=3, batch_size=2)
    assert backend.batches == [[4, 3], [2, 1]]
    assert [g.token_ids for g in out] == [(6, 5), (10, 9, 8), (11,), (14, 13, 12)]
    assert [g.finish_reason for g in out] == ["eos", "length", "eos", "length"]
    assert longest_first([3, 9, 5, 9], 3) == [[1, 3, 2], [0]]


def test_as_backend_wraps_once_and_keeps_a_backend(llama, tiny_mistral_dir):
    model, tok = llama
    backend = as_backend(model, tok)
    assert isinstance(backend, TransformersBackend) and backend.tokenizer is tok
    assert as_backend(backend, tok) is backend and as_backend(backend) is backend
    other = llmlab.load_tokenizer(tiny_mistral_dir)
    copy = as_backend(backend, other)
    assert copy is not backend and copy.tokenizer is other and backend.tokenizer is tok
    with pytest.raises(TypeError, match="model is a str"):
        as_backend("tiny-llama", tok)


def test_backend_info_is_the_loaders_provenance(llama):
    model, tok = llama
    info = as_backend(model, tok).info
    meta = llmlab.loaders.model_metadata(model)
    assert info is provenance_of(model)
    assert info.backend == "transformers" and info.format == meta["format"] == "transformers"
    assert info.source == meta["source"] and info.dtype == meta["dtype"] == "float32"
