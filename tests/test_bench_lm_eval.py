"""The pieces of benchmarks/bench_lm_eval.py that need no lm-eval: the model and its tokenizer.

The benchmark itself installs lm-eval into a venv of its own, too slow for the test suite; these
tests check that what it measures is what its docstring says: a Llama of SmolLM2-135M's shape and
a byte-level BPE of that vocabulary size.
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bench():
    path = ROOT / "benchmarks" / "bench_lm_eval.py"
    spec = importlib.util.spec_from_file_location("bench_lm_eval", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def llama_parameters(vocab, hidden, layers, heads, kv_heads, mlp):
    """Parameters of a Llama with tied embeddings, counted from its matrices by hand."""
    head_dim = hidden // heads
    attention = 2 * hidden * hidden + 2 * hidden * kv_heads * head_dim  # q, o; k, v
    per_layer = attention + 3 * hidden * mlp + 2 * hidden  # gate, up, down; two RMSNorms
    return vocab * hidden + layers * per_layer + hidden  # embedding (tied), final norm


def test_model_has_smollm2_135m_shape(bench):
    model = bench.build_model(seed=0)
    config = model.config
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads,
            config.num_key_value_heads, config.intermediate_size, config.vocab_size,
            config.max_position_embeddings) == (576, 30, 9, 3, 1536, 49152, 2048)
    n = sum(p.numel() for p in model.parameters())
    assert n == llama_parameters(49152, 576, 30, 9, 3, 1536)
    assert abs(n - 135e6) / 135e6 < 0.01
    assert next(model.parameters()).dtype.is_floating_point
    assert str(next(model.parameters()).dtype) == "torch.float32"


def test_model_weights_are_seeded(bench):
    import torch

    def weight(seed):
        return bench.build_model(seed=seed).model.layers[0].mlp.up_proj.weight.detach().clone()

    first = weight(0)
    assert torch.equal(first, weight(0))
    assert not torch.equal(first, weight(1))


def test_agreement_needs_the_same_tokens(bench):
    from types import SimpleNamespace

    res = SimpleNamespace(per_text_nll=[2.0, 3.0], per_text_tokens=[4, 5])
    agree = bench.agreement(res, [-2.0, -3.003], [4, 5])
    assert agree["relative"] == pytest.approx(0.003 / 5.003)
    assert agree["max_doc"] == pytest.approx(0.003)
    with pytest.raises(AssertionError, match="different tokens"):
        bench.agreement(res, [-2.0, -3.0], [5, 5])


def test_tokenizer_is_a_byte_level_bpe_of_the_vocabulary_size(bench):
    from llmlab.datasets import load_docs

    tok = bench.train_tokenizer(load_docs("train"))
    assert len(tok) == 49152
    assert tok.bos_token_id == 0 and tok.convert_ids_to_tokens(0) == "<|endoftext|>"
    text = "def f(x):\n    return x ** 2  # ünïcode ✓"
    ids = tok(text)["input_ids"]
    assert ids[0] == tok.bos_token_id and tok.bos_token_id not in ids[1:]
    assert tok.decode(ids, skip_special_tokens=True) == text  # byte-level: round-trips exactly
    assert len(ids) - 1 < len(text.encode()) / 2  # merges learnt: fewer tokens than bytes


def test_documents_fit_one_window(bench):
    from llmlab.datasets import load_docs

    tok = bench.train_tokenizer(load_docs("train")[:300], vocab_size=2000)
    texts = bench.pick_documents(tok, 5, 512)
    assert texts == [t for t in load_docs("test") if len(tok(t)["input_ids"]) <= 512][:5]
    assert all(len(tok(t)["input_ids"]) <= 512 for t in texts)
    with pytest.raises(ValueError, match="only .* test documents fit"):
        bench.pick_documents(tok, 10_000, 512)
