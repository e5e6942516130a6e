"""The bundled models: they load offline every way a practitioner would, meet the shape rules
that quantization needs, and their model cards' figures reproduce.

Figures are recomputed here with llmlab itself on the full held-out splits (the docs test
split is 83 KB, the spam test split 1,000 messages: seconds for these models) and compared
with ``eval_results.json``, which ``python -m training.evaluate`` wrote with the same
library. Quantized runs use a fixed sample of documents, and compare with float32 on that
same sample.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import sklearn.metrics
import torch

import llmlab
from llmlab.datasets import load_docs

MODELS = {"tiny-llama": "LlamaForCausalLM", "tiny-mistral": "MistralForCausalLM",
          "tiny-llama-instruct": "LlamaForCausalLM"}

pytestmark = pytest.mark.skipif(
    set(MODELS) - set(llmlab.list_bundled_models()), reason="bundled models not built"
)


def _results(name):
    path = Path(llmlab.resolve_model_path(name)) / "eval_results.json"
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def loaded():
    return {n: (llmlab.load_model(n), llmlab.load_tokenizer(n)) for n in MODELS}


@pytest.mark.parametrize("name,arch", MODELS.items())
def test_loads_offline_every_way(name, arch):
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = llmlab.resolve_model_path(name)
    cls = getattr(transformers, arch)
    for model in (llmlab.load_model(name), AutoModelForCausalLM.from_pretrained(path),
                  cls.from_pretrained(path)):
        assert type(model).__name__ == arch
    tok = AutoTokenizer.from_pretrained(path)
    ids = tok("def f(x): return x  # ünïcode")["input_ids"]
    assert ids[0] == tok.bos_token_id
    assert tok.decode(ids, skip_special_tokens=True) == "def f(x): return x  # ünïcode"


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("quantization,layer", [("8bit", "Linear8bitLt"), ("4bit", "Linear4bit")])
def test_quantized_loading(name, quantization, layer):
    model = llmlab.load_model(name, quantization=quantization)
    kinds = {type(m).__name__ for n, m in model.named_modules() if n.endswith("proj")}
    assert kinds == {layer}


@pytest.mark.parametrize("name", MODELS)
def test_shapes_sizes_and_files(name):
    path = Path(llmlab.resolve_model_path(name))
    model = llmlab.load_model(name)
    for mod_name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            assert module.out_features % 64 == 0, mod_name
    assert model.config.max_position_embeddings >= 256
    assert (path / "model.safetensors").stat().st_size < 20 * 2**20
    for f in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
              "README.md", "training_log.csv", "eval_results.json"):
        assert (path / f).is_file(), f
    gen = json.loads((path / "generation_config.json").read_text())
    assert gen["bos_token_id"] == model.config.bos_token_id
    assert gen["eos_token_id"] == model.config.eos_token_id
    # No max_length: `generate(max_new_tokens=...)` must not warn on every call.
    assert "max_length" not in gen
    header = (path / "training_log.csv").read_text().splitlines()[0]
    assert header.startswith("step,tokens_seen,train_loss,val_loss")


def test_vocabularies_clearly_differ():
    sizes = [llmlab.load_tokenizer(n).vocab_size for n in MODELS]
    assert max(sizes) >= 1.5 * min(sizes)


@pytest.fixture(scope="module")
def measured(loaded):
    """Each bundled model measured now by the one evaluation function (``llmlab report`` and
    the model cards), with the windows its card records."""
    from llmlab.evaluation import evaluate
    from llmlab.prompts import SPAM_CHAT_MESSAGES

    out = {}
    for name, (model, tok) in loaded.items():
        docs = _results(name)["docs_test"]
        # the instruct model's card classifies through its chat template
        chat = {"template": list(SPAM_CHAT_MESSAGES)} if tok.chat_template else {}
        out[name] = evaluate(model, tok, spam_variants=("natural", "rare"),
                             max_length=docs["max_length"], stride=docs["stride"], **chat)
    return out


@pytest.mark.parametrize("name", MODELS)
def test_recorded_figures_reproduce(measured, name):
    """The cards' figures were measured by an earlier, independent scoring loop; the one
    evaluation function must give them again."""
    from training.evaluate import docs_figures

    recorded = _results(name)
    ev = measured[name]
    docs = docs_figures(ev.perplexity)
    card = recorded["docs_test"]
    assert docs["n_tokens"] == card["n_tokens"] and docs["n_bytes"] == card["n_bytes"]
    assert docs["bits_per_byte"] == pytest.approx(card["bits_per_byte"], rel=1e-4)
    assert docs["perplexity"] == pytest.approx(card["perplexity"], rel=1e-4)
    for variant in ("natural", "rare"):
        card = recorded["spam"][variant]
        got = ev.counts(variant)
        assert [got[k] for k in ("tn", "fp", "fn", "tp")] == [
            card["tn"], card["fp"], card["fn"], card["tp"]]
        # and sklearn, independently, from the same predictions
        y_true, y_pred = ev.y_true[variant], ev.classification[variant].y_pred
        assert got["f1"] == pytest.approx(
            sklearn.metrics.f1_score(y_true, y_pred, pos_label="spam"), abs=1e-12)
        assert got["f1"] == pytest.approx(card["f1"], abs=1e-9)


def test_spam_f1_target_reached(measured):
    f1 = {n: sklearn.metrics.f1_score(ev.y_true["natural"], ev.classification["natural"].y_pred,
                                      pos_label="spam") for n, ev in measured.items()}
    assert max(f1.values()) >= 0.85, f1


def test_docs_bits_per_byte_target(measured):
    bpb = {n: ev.perplexity.bits_per_byte for n, ev in measured.items()}
    assert min(bpb.values()) <= 1.6, bpb


def test_xz_baseline_reproduces_and_models_beat_it():
    from training.xz_baseline import xz_bits_per_byte

    xz = xz_bits_per_byte(load_docs("train"), load_docs("test"))
    for name in MODELS:
        card = _results(name)["docs_test"]
        assert xz == pytest.approx(card["xz_bits_per_byte"], rel=1e-9)
        assert card["bits_per_byte"] < xz, f"{name} does not beat xz"


@pytest.mark.parametrize("name", MODELS)
def test_recorded_training_chain_matches_configs(name):
    """Each recorded stage ran with the hyper-parameters configs.py gives for that stage.

    ``--reproduce`` rebuilds a model from configs.py and the recorded step counts, so a recipe
    edited after the shipped run would silently rebuild something else.
    """
    from training.configs import get_spec, lineage

    summary = json.loads((Path(llmlab.resolve_model_path(name)) / "training_summary.json")
                         .read_text())
    chain = []
    while summary:
        chain.insert(0, summary)
        summary = summary.get("previous_stage")
    plan = lineage(get_spec(name))
    assert len(chain) == len(plan)
    for i, (spec, recorded) in enumerate(zip(plan, chain)):
        expected = json.loads(json.dumps(spec.to_dict()))  # tuples -> lists, as recorded
        # runs before dropout (or instruct stages) existed had none
        got = {"dropout": 0.0, "instruct": {}, **recorded["spec"]}
        # the chain's bookkeeping, not a hyper-parameter (stages trained one by one lack it)
        expected.pop("continuation"), got.pop("continuation", None)
        assert got == expected, f"stage {i + 1}"


@pytest.mark.parametrize("name", MODELS)
def test_quantized_quality_close_to_full_precision(name):
    docs = load_docs("test")
    sample = random.Random(0).sample(docs, 24)
    tok = llmlab.load_tokenizer(name)
    full = llmlab.perplexity(llmlab.load_model(name), tok, sample).bits_per_byte
    q8 = llmlab.perplexity(llmlab.load_model(name, quantization="8bit"), tok, sample).bits_per_byte
    q4 = llmlab.perplexity(llmlab.load_model(name, quantization="4bit"), tok, sample).bits_per_byte
    assert math.isfinite(full)
    assert abs(q8 - full) / full <= 0.02, (full, q8)
    assert abs(q4 - full) / full <= 0.10, (full, q4)


@pytest.mark.parametrize("name", MODELS)
def test_model_card_is_up_to_date(tmp_path, name):
    """Regenerating the card from the shipped results gives the shipped card (nothing stale)."""
    import shutil

    from training.evaluate import write_model_card

    src = Path(llmlab.resolve_model_path(name))
    dst = tmp_path / name
    dst.mkdir()
    for f in src.iterdir():
        if f.name != "model.safetensors":
            shutil.copy(f, dst / f.name)
    write_model_card(dst)
    assert (dst / "README.md").read_text() == (src / "README.md").read_text()


def test_card_says_when_the_checkpoint_predates_the_purge(tmp_path):
    from llmlab.datasets import data_card
    from training.evaluate import _purge_note

    folder = Path(llmlab.resolve_model_path("tiny-llama"))
    summary = json.loads((folder / "training_summary.json").read_text())
    docs_card = data_card()["docs"]
    purged = docs_card["dedupe"]["eval_texts_dropped_as_contained"]
    # tiny-llama was selected on the 115-document validation split (48 sequences, the cap).
    assert summary["validation_tokens"] == 48 * 512
    note = _purge_note(folder, summary, docs_card)
    assert f"{purged['validation']['documents']} documents out of the validation" in note
    assert f"{purged['test']['documents']} out of the test split" in note
    # A model selected on today's validation split gets no note, nor does a corpus never purged.
    from training.sequences import encode_documents, pack

    tokenizer = llmlab.load_tokenizer("tiny-llama")
    today = pack(encode_documents(tokenizer, load_docs("validation")), 512)
    assert min(len(today), 48) * 512 != summary["validation_tokens"]
    fresh = dict(summary, validation_tokens=min(len(today), 48) * 512)
    assert _purge_note(folder, fresh, docs_card) == ""
    assert _purge_note(folder, summary, {"dedupe": {}}) == ""
    # tiny-mistral was rebuilt after the purge: its card has no such note.
    mistral = Path(llmlab.resolve_model_path("tiny-mistral"))
    assert _purge_note(mistral, json.loads((mistral / "training_summary.json").read_text()),
                       docs_card) == ""
