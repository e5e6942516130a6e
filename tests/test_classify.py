"""llmlab.classify against an independent float64 loop over each (text, label) pair."""

import copy

import numpy as np
import pytest
import torch

import llmlab

MESSAGES = [
    "win a free prize now",
    "see you at lunch",
    "URGENT: your parcel fee is unpaid, pay at the link",
    "can you send me the doc?",
    "hey it's me, new number",
]


def reference_logprobs(model64, tok, texts, labels, template, label_template):
    out = np.zeros((len(texts), len(labels)))
    for i, text in enumerate(texts):
        prompt = tok(template.format(text=text))["input_ids"]
        for k, lab in enumerate(labels):
            cont = tok(label_template.format(label=lab), add_special_tokens=False)["input_ids"]
            total = 0.0
            for j, target in enumerate(cont):
                ctx = torch.tensor([prompt + cont[:j]])
                with torch.no_grad():
                    logits = model64(input_ids=ctx).logits[0, -1].double()
                total += torch.log_softmax(logits, -1)[target].item()
            out[i, k] = total
    return out


@pytest.fixture(scope="module")
def llama(tiny_llama_dir):
    model = llmlab.load_model(tiny_llama_dir)
    return model, llmlab.load_tokenizer(tiny_llama_dir), copy.deepcopy(model).double()


@pytest.mark.parametrize(
    "labels,positive",
    [
        (("ham", "spam"), "spam"),  # the default
        (("not spam", "spam"), "spam"),  # multi-token continuation: one sequence per pair
        (("toxic", "safe", "unsure"), "toxic"),
    ],
)
@pytest.mark.parametrize("batch_size", [1, 4, 16])
def test_matches_reference(llama, labels, positive, batch_size):
    model, tok, model64 = llama
    ref = reference_logprobs(
        model64, tok, MESSAGES, labels, "Message: {text}\nLabel:", " {label}"
    )
    out = llmlab.classify(
        model, tok, MESSAGES, labels=labels, pos_label=positive, batch_size=batch_size
    )
    np.testing.assert_allclose(out.label_logprobs, ref, rtol=1e-5, atol=1e-6)
    probs = np.exp(ref) / np.exp(ref).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out.y_score, probs[:, labels.index(positive)], rtol=1e-5)
    np.testing.assert_allclose(out.probabilities.sum(axis=1), 1.0)
    if len(labels) == 2:
        neg = labels[1 - labels.index(positive)]
        expected = [positive if p >= 0.5 else neg for p in probs[:, labels.index(positive)]]
    else:
        expected = [labels[k] for k in probs.argmax(axis=1)]
    assert out.y_pred == expected


def _rows_per_call(model, run):
    """Run ``run()`` and return the batch sizes the model's forward received."""
    rows = []
    original = model.forward

    def counting_forward(*args, **kwargs):
        rows.append(kwargs["input_ids"].shape[0])
        return original(*args, **kwargs)

    model.forward = counting_forward
    try:
        result = run()
    finally:
        del model.forward
    return rows, result


def _single_token_words(tok, n):
    """Words w such that " w" is one token of this tokenizer."""
    words = []
    for token in sorted(tok.get_vocab()):
        word = tok.convert_tokens_to_string([token])
        if word.startswith(" ") and word[1:].isalpha():
            if len(tok(word, add_special_tokens=False)["input_ids"]) == 1:
                words.append(word[1:])
    assert len(words) >= n
    return tuple(words[:n])


@pytest.mark.parametrize("n_labels", [2, 3])
def test_single_token_labels_take_one_row_per_text(llama, n_labels):
    model, tok, model64 = llama
    labels = _single_token_words(tok, n_labels)
    rows, out = _rows_per_call(model, lambda: llmlab.classify(
        model, tok, MESSAGES, labels=labels, pos_label=labels[0], batch_size=2))
    assert sum(rows) == len(MESSAGES)  # one sequence per text, not per (text, label)
    ref = reference_logprobs(model64, tok, MESSAGES, labels, "Message: {text}\nLabel:", " {label}")
    np.testing.assert_allclose(out.label_logprobs, ref, rtol=1e-5, atol=1e-6)


def test_multi_token_labels_run_each_prompt_once(llama):
    model, tok, model64 = llama
    labels = ("not spam", "spam")
    lengths = [len(tok(" " + lab, add_special_tokens=False)["input_ids"]) for lab in labels]
    assert lengths[0] > 1
    rows, out = _rows_per_call(model, lambda: llmlab.classify(
        model, tok, MESSAGES, labels=labels, batch_size=3))
    # One row per prompt, then one row per (text, label) whose label has more than one token:
    # those continue from the prompt's cached keys and values.
    assert sum(rows) == len(MESSAGES) * (1 + sum(n > 1 for n in lengths))
    ref = reference_logprobs(model64, tok, MESSAGES, labels, "Message: {text}\nLabel:", " {label}")
    np.testing.assert_allclose(out.label_logprobs, ref, rtol=1e-5, atol=1e-5)


def test_threshold_and_predict(llama):
    model, tok, _ = llama
    out = llmlab.classify(model, tok, MESSAGES, threshold=0.0)
    assert out.y_pred == ["spam"] * len(MESSAGES)
    out = llmlab.classify(model, tok, MESSAGES, threshold=1.0)
    assert out.predict(1.0) == ["spam" if s >= 1.0 else "ham" for s in out.y_score]
    assert out.predict(0.0) == ["spam"] * len(MESSAGES)
    mid = float(np.median(out.y_score))
    assert out.predict(mid).count("spam") >= len(MESSAGES) // 2


def test_custom_template(llama):
    model, tok, model64 = llama
    template = "Text: {text}\nVerdict:"
    out = llmlab.classify(model, tok, MESSAGES[:2], template=template)
    ref = reference_logprobs(model64, tok, MESSAGES[:2], ("ham", "spam"), template, " {label}")
    np.testing.assert_allclose(out.label_logprobs, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(texts=[]), ValueError, "texts is empty"),
        (dict(texts=["ok", ""]), ValueError, r"texts\[1\] is empty"),
        (dict(texts=[3]), TypeError, r"texts\[0\] is a int"),
        (dict(labels=("spam",)), ValueError, "at least two labels"),
        (dict(labels="spam"), TypeError, "sequence of label strings"),
        (dict(labels=("ham", "ham")), ValueError, "duplicates"),
        (dict(pos_label="junk"), ValueError, r"pos_label='junk' is not one of"),
        (dict(template="no placeholder"), ValueError, r"\{text\}"),
        (dict(label_template="no label"), ValueError, r"\{label\}"),
        (dict(threshold=1.5), ValueError, "threshold=1.5"),
        (dict(threshold=float("nan")), ValueError, "threshold=nan"),
        (dict(batch_size=0), ValueError, "batch_size=0"),
        (dict(texts=["word " * 200]), ValueError, r"texts\[0\] is too long.*context length 96"),
    ],
)
def test_bad_input(llama, kwargs, exc, match):
    model, tok, _ = llama
    args = dict(texts=MESSAGES)
    args.update(kwargs)
    texts = args.pop("texts")
    with pytest.raises(exc, match=match):
        llmlab.classify(model, tok, texts, **args)


@pytest.mark.parametrize("labels", [("ham", "spam"), ("not spam", "spam")])
def test_output_layer_runs_only_on_needed_positions(llama, labels):
    """The vocabulary projection sees one row per label token scored, not every position."""
    model, tok, _ = llama
    rows = []
    hook = model.get_output_embeddings().register_forward_hook(
        lambda mod, args, out: rows.append(args[0].reshape(-1, args[0].shape[-1]).shape[0]))
    try:
        llmlab.classify(model, tok, MESSAGES, labels=labels, batch_size=4)
    finally:
        hook.remove()
    conts = [tok(" " + lab, add_special_tokens=False)["input_ids"] for lab in labels]
    # One row per prompt (its last position predicts every label's first token), then one
    # row per later label token.
    expected = len(MESSAGES) * (1 + sum(len(c) - 1 for c in conts))
    assert sum(rows) == expected


def test_raw_probabilities_ignore_contextual_calibration(llama):
    model, tok, _ = llama
    plain = llmlab.classify(model, tok, MESSAGES)
    calibrated = llmlab.classify(model, tok, MESSAGES, content_free="N/A")
    np.testing.assert_allclose(calibrated.raw_probabilities, plain.probabilities, rtol=1e-12)
    np.testing.assert_allclose(plain.raw_probabilities, plain.probabilities, rtol=1e-12)
    assert not np.allclose(calibrated.probabilities, calibrated.raw_probabilities)


def test_positive_is_the_old_name_of_pos_label(llama):
    """``positive=`` still works for one release, with a FutureWarning, and gives the same
    result as ``pos_label=``; the result reads the positive label under both names."""
    model, tok, model64 = llama
    labels = ("ham", "spam")
    new = llmlab.classify(model, tok, MESSAGES, labels=labels, pos_label="ham")
    with pytest.warns(FutureWarning, match="positive=.*deprecated.*pos_label"):
        old = llmlab.classify(model, tok, MESSAGES, labels=labels, positive="ham")
    np.testing.assert_array_equal(old.label_logprobs, new.label_logprobs)
    assert old.y_pred == new.y_pred and old.pos_label == new.positive == "ham"
    # y_score is the probability of "ham", as a float64 softmax of the reference says
    ref = reference_logprobs(model64, tok, MESSAGES, labels, "Message: {text}\nLabel:",
                             " {label}")
    np.testing.assert_allclose(new.y_score, np.exp(ref[:, 0]) / np.exp(ref).sum(axis=1),
                               atol=1e-5)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="pos_label='x'"):
        llmlab.classify(model, tok, MESSAGES, labels=labels, positive="x")
