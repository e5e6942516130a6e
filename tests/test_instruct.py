"""The instruct stage of the recipe, and the bundled instruct model it made.

The recipe part trains a micro model for a few steps (seconds). The bundled part checks what
the model card claims: its chat template renders what the recipe trained on, and the template
effect (right chat template, plain prompt, wrong template) reproduces and is real.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import sample_training_data

import llmlab
from llmlab.prompts import CHATML_TEMPLATE, SPAM_CHAT_MESSAGES, SPAM_TEMPLATE
from training import instruct
from training.configs import get_spec, lineage, stages
from training.train import train_model

NAME = "tiny-llama-instruct"
slow = pytest.mark.slow
built = pytest.mark.skipif(NAME not in llmlab.list_bundled_models(),
                           reason=f"{NAME} is not built")


def _data():
    """The recipe tests' sample, with a source per document (the docs questions need them)."""
    return replace(sample_training_data(),
                   docs_train_sources=[f"python/topic{i}" for i in range(30)])


@pytest.fixture(scope="module")
def micro_base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("base")
    train_model(get_spec("micro-llama"), folder, data=_data(), steps=2, threads=1,
                progress=False)
    return folder


def _micro_instruct():
    return replace(get_spec("micro-llama"), name="micro-instruct", val_sequences=2,
                   instruct={"base": "micro-llama", "docs_questions": 5, "plain_docs": 3})


@slow  # trains a micro model or loads a bundled one: the full tier
def test_chat_template_renders_turns_with_one_bos_and_eos_after_each(micro_base):
    tok = llmlab.load_tokenizer(micro_base)
    tok.chat_template = instruct.CHAT_TEMPLATE
    chat = [{"role": "user", "content": "Is this message spam or ham?\n\nhi"},
            {"role": "assistant", "content": "ham"}]
    text = tok.apply_chat_template(chat, tokenize=False)
    assert text == "<s><|user|>\nIs this message spam or ham?\n\nhi</s>\n<|assistant|>\nham</s>\n"
    texts, (ids,) = instruct.render(tok, [chat])
    assert texts == [text]
    assert ids.count(tok.bos_token_id) == 1 and ids[0] == tok.bos_token_id
    assert ids.count(tok.eos_token_id) == 2
    # the prompt the classifier scores is the conversation up to the answer
    prompt = llmlab.prompts.render_prompts(tok, list(SPAM_CHAT_MESSAGES), ["hi"])[0]
    answer = tok("ham", add_special_tokens=False)["input_ids"]
    assert ids[: len(prompt) + len(answer)] == prompt + answer


@slow  # trains a micro model or loads a bundled one: the full tier
def test_training_documents_are_conversations_and_plain_docs(micro_base):
    tok = llmlab.load_tokenizer(micro_base)
    data = _data()
    with pytest.raises(ValueError, match="chat_template"):
        instruct.instruct_documents(tok, data, n_docs_questions=5, n_plain_docs=3)
    tok.chat_template = instruct.CHAT_TEMPLATE
    ids, texts = instruct.instruct_documents(tok, data, n_docs_questions=5, n_plain_docs=3)
    n_spam = len(data.spam_train_texts)
    assert len(ids) == len(texts) == n_spam + 5 + 3
    for text, label in zip(texts[:n_spam], data.spam_train_labels):
        assert text.startswith("<s><|user|>\n") and text.endswith(f"<|assistant|>\n{label}</s>\n")
    for text in texts[n_spam:n_spam + 5]:
        assert "`topic" in text and text.count("<|assistant|>") == 1
    assert all(t in data.docs_train for t in texts[n_spam + 5:])
    assert [tok.decode(i) for i in ids[:n_spam]] == texts[:n_spam]
    with pytest.raises(ValueError, match="sources"):
        instruct.instruct_documents(tok, replace(data, docs_train_sources=None),
                                    n_docs_questions=5, n_plain_docs=3)


def test_docs_answers_are_cut_at_a_paragraph():
    long = "First paragraph. " * 20 + "\n\n" + "Second. " * 100
    answer = instruct._answer(long)
    assert answer == long.split("\n\n")[0].strip()
    assert instruct._answer("short") == "short"


@slow  # trains a micro model or loads a bundled one: the full tier
def test_instruct_stage_trains_from_its_base_and_saves_the_template(tmp_path, micro_base):
    spec = _micro_instruct()
    with pytest.raises(ValueError, match="give init_from"):
        train_model(spec, tmp_path / "x", data=_data(), steps=1, threads=1, progress=False)
    summary = train_model(spec, tmp_path / "ins", data=_data(), steps=2, threads=1,
                          progress=False, init_from=micro_base)
    assert summary["instruct"]["chat_template"] == instruct.CHAT_TEMPLATE
    assert summary["previous_stage"]["name"] == "micro-llama"
    assert summary["total_steps"] == 4
    # the chat template lives in tokenizer_config.json, the vocabulary is the base's
    cfg = json.loads((tmp_path / "ins" / "tokenizer_config.json").read_text())
    assert cfg["chat_template"] == instruct.CHAT_TEMPLATE
    assert not (tmp_path / "ins" / "chat_template.jinja").exists()
    assert (tmp_path / "ins" / "tokenizer.json").read_text() == (
        micro_base / "tokenizer.json").read_text()
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(tmp_path / "ins").chat_template == instruct.CHAT_TEMPLATE
    # validation: half documentation, half labelling conversations
    assert summary["validation_tokens"] == 2 * spec.seq_len


def test_instruct_spec_rules_and_lineage():
    spec = get_spec(NAME)
    assert spec.instruct["base"] == "tiny-llama" and stages(spec) == [spec]
    assert [s.name for s in lineage(spec)] == ["tiny-llama"] * 3 + [NAME]
    with pytest.raises(ValueError, match="needs 'base'"):
        get_spec("micro-llama", instruct={"base": "micro-llama"})
    with pytest.raises(ValueError, match="no continuation"):
        replace(spec, continuation={"seed": 1}).check()


def test_cli_refuses_an_instruct_build_without_its_base(tmp_path, capsys):
    from training import __main__ as cli

    with pytest.raises(SystemExit):
        cli.build(["--model", NAME, "--steps", "1", "--out", str(tmp_path), "--no-evaluate"])
    assert "build tiny-llama" in capsys.readouterr().err


@built
@slow
def test_bundled_instruct_model_has_its_template_and_base_tokenizer():
    tok = llmlab.load_tokenizer(NAME)
    assert tok.chat_template == instruct.CHAT_TEMPLATE
    base = Path(llmlab.resolve_model_path("tiny-llama"))
    here = Path(llmlab.resolve_model_path(NAME))
    assert (here / "tokenizer.json").read_text() == (base / "tokenizer.json").read_text()
    # classify's default label continuation after chat messages is the bare label
    ids = llmlab.prompts.render_prompts(tok, list(SPAM_CHAT_MESSAGES), ["hi"])[0]
    assert tok.decode(ids).endswith("<|assistant|>\n")


@built
@slow
def test_template_effect_reproduces_and_is_real():
    """The card's three-way comparison, measured again on the whole spam test split."""
    from training.evaluate import template_effect, template_ways

    model, tok = llmlab.load_model(NAME), llmlab.load_tokenizer(NAME)
    texts, y_true = llmlab.datasets.load_spam("test")
    ways = template_ways(tok)
    assert ways["plain prompt"][1] == SPAM_TEMPLATE
    assert ways["chat, wrong template (ChatML)"][0].chat_template == CHATML_TEMPLATE
    got = template_effect(model, ways, texts, y_true)
    card = json.loads((Path(llmlab.resolve_model_path(NAME)) / "eval_results.json")
                      .read_text())["template_effect"]
    assert list(got) == list(card)
    for name in got:
        for key in ("tp", "fp", "fn", "tn", "predicted_spam"):
            assert got[name][key] == card[name][key], (name, key)
        assert got[name]["f1"] == pytest.approx(card[name]["f1"], abs=1e-12)
    right = got["chat, its own template"]
    wrong = got["chat, wrong template (ChatML)"]
    assert right["f1"] >= 0.85, right
    assert wrong["balanced_accuracy"] < right["balanced_accuracy"] - 0.1, (right, wrong)
    # the chat prompt's label continuation is the bare label, not " spam"
    spaced = llmlab.classify(model, tok, texts[:50], template=list(SPAM_CHAT_MESSAGES),
                             label_template=" {label}")
    bare = llmlab.classify(model, tok, texts[:50], template=list(SPAM_CHAT_MESSAGES))
    assert not np.allclose(spaced.label_logprobs, bare.label_logprobs)
