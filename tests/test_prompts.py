"""Prompts as plain templates or as chat messages rendered with the tokenizer's template."""

from __future__ import annotations

import numpy as np
import pytest

import llmlab
from llmlab.prompts import render_prompts
from llmlab.tasks import score_choices

# A chat template in the style of Llama's: it writes BOS itself, then each turn; with
# add_generation_prompt it opens the assistant's turn with "\nLabel:" so that a chat prompt
# renders to the same text as the plain template "Message: {text}\nLabel:".
PLAIN_LIKE = (
    "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '\\n' }}Label:{% endif %}"  # (Jinja trims a bare
    # newline after a block tag, as transformers renders templates)
)
TURNS = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
TEXTS = ["win a free prize now", "see you at lunch", "URGENT: your parcel fee is unpaid"]


@pytest.fixture(scope="module")
def llama(tiny_llama_dir):
    return llmlab.load_model(tiny_llama_dir), llmlab.load_tokenizer(tiny_llama_dir)


def _with_template(tok, template):
    import copy

    tok = copy.deepcopy(tok)
    tok.chat_template = template
    return tok


def test_plain_template_is_encoded_with_bos(llama):
    _, tok = llama
    got = render_prompts(tok, "Message: {text}\nLabel:", TEXTS)
    want = tok([f"Message: {t}\nLabel:" for t in TEXTS])["input_ids"]
    assert got == [list(x) for x in want]
    assert all(ids[0] == tok.bos_token_id and ids[1] != tok.bos_token_id for ids in got)


def test_chat_messages_get_one_bos_and_the_generation_prompt(llama):
    _, tok = llama
    chat_tok = _with_template(tok, TURNS)
    messages = [{"role": "system", "content": "Answer {spam} or ham."},  # braces left alone
                {"role": "user", "content": "Is this spam? {text}"}]
    got = render_prompts(chat_tok, messages, TEXTS)
    for ids, text in zip(got, TEXTS):
        rendered = f"<s><|system|>Answer {{spam}} or ham.\n<|user|>Is this spam? {text}\n<|assistant|>"
        assert ids == tok(rendered, add_special_tokens=False)["input_ids"]
        assert ids.count(tok.bos_token_id) == 1 and ids[0] == tok.bos_token_id
    # a template that writes BOS twice is cut to one
    twice = _with_template(tok, "{{ bos_token }}" + TURNS)
    assert render_prompts(twice, messages, TEXTS) == got


def test_classify_with_chat_messages_equals_the_same_plain_prompt(llama):
    model, tok = llama
    chat_tok = _with_template(tok, PLAIN_LIKE)
    messages = [{"role": "user", "content": "Message: {text}"}]
    plain = llmlab.classify(model, tok, TEXTS)
    chat = llmlab.classify(model, chat_tok, TEXTS, template=messages, label_template=" {label}")
    np.testing.assert_array_equal(chat.label_logprobs, plain.label_logprobs)
    # and a different template really changes the scores
    other = llmlab.classify(model, _with_template(tok, TURNS), TEXTS, template=messages,
                            label_template=" {label}")
    assert not np.allclose(other.label_logprobs, plain.label_logprobs)


def test_after_chat_messages_the_label_continuation_defaults_to_the_bare_label(llama):
    """An assistant's answer starts right after the opened turn: "spam", not " spam"."""
    model, tok = llama
    chat_tok = _with_template(tok, TURNS)
    messages = [{"role": "user", "content": "Is this spam? {text}"}]
    default = llmlab.classify(model, chat_tok, TEXTS, template=messages)
    bare = llmlab.classify(model, chat_tok, TEXTS, template=messages, label_template="{label}")
    spaced = llmlab.classify(model, chat_tok, TEXTS, template=messages, label_template=" {label}")
    np.testing.assert_array_equal(default.label_logprobs, bare.label_logprobs)
    assert not np.allclose(default.label_logprobs, spaced.label_logprobs)
    # a plain template keeps " {label}", as the bundled models were trained
    np.testing.assert_array_equal(
        llmlab.classify(model, tok, TEXTS).label_logprobs,
        llmlab.classify(model, tok, TEXTS, label_template=" {label}").label_logprobs)


def test_choices_and_summaries_take_chat_messages(llama):
    model, tok = llama
    chat_tok = _with_template(tok, PLAIN_LIKE)
    ctx = ["Open the file and"]
    a = score_choices(model, tok, [c + "\nLabel:" for c in ctx], [[" read", " banana"]])
    b = score_choices(model, chat_tok, ctx, [[" read", " banana"]],
                      template=[{"role": "user", "content": "{text}"}])
    np.testing.assert_allclose(b.loglikelihoods[0], a.loglikelihoods[0], rtol=1e-6)
    from llmlab.summaries import summarize

    s1 = summarize(model, tok, ["Open a file."], template="{text}\nLabel:", max_new_tokens=4)
    s2 = summarize(model, chat_tok, ["Open a file."], template=[{"role": "user",
                                                               "content": "{text}"}],
                   max_new_tokens=4)
    assert s1 == s2


def test_bad_templates_and_a_tokenizer_without_a_chat_template(llama):
    model, tok = llama
    assert not getattr(tok, "chat_template", None)
    with pytest.raises(ValueError, match="has no chat template"):
        llmlab.classify(model, tok, TEXTS, template=[{"role": "user", "content": "{text}"}])
    with pytest.raises(ValueError, match="no message of template contains"):
        render_prompts(tok, [{"role": "user", "content": "hi"}], TEXTS)
    with pytest.raises(ValueError, match=r"template\[0\].*needs a str 'role'"):
        render_prompts(tok, [{"content": "{text}"}], TEXTS)
    with pytest.raises(ValueError, match="must be a string such as"):
        render_prompts(tok, 42, TEXTS)
    with pytest.raises(ValueError, match="must contain the placeholder"):
        llmlab.classify(model, tok, TEXTS, template="no placeholder")


@pytest.mark.slow
def test_a_wrong_chat_template_ruins_a_bundled_classifier():
    """A base model given its training format through a chat template that writes exactly
    that format scores the same; given ChatML's role markers, it falls apart (300 test
    messages). The instruct model's version is tests/test_instruct.py."""
    from llmlab.prompts import CHATML_TEMPLATE

    model, tok = llmlab.load_model("tiny-llama"), llmlab.load_tokenizer("tiny-llama")
    texts, y_true = llmlab.datasets.load_spam("test")
    texts, y_true = texts[:300], y_true[:300]
    messages = [{"role": "user", "content": "Message: {text}"}]
    plain = llmlab.classify(model, tok, texts)
    right = llmlab.classify(model, _with_template(tok, PLAIN_LIKE), texts, template=messages,
                            label_template=" {label}")
    wrong = llmlab.classify(model, _with_template(tok, CHATML_TEMPLATE), texts,
                            template=messages, label_template=" {label}")
    np.testing.assert_array_equal(right.label_logprobs, plain.label_logprobs)
    bal = {name: llmlab.metrics.balanced_accuracy_score(y_true, out.y_pred)
           for name, out in (("plain", plain), ("wrong", wrong))}
    assert bal["plain"] > 0.85 and bal["wrong"] < bal["plain"] - 0.2, bal
