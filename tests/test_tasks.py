"""llmlab.tasks and the bundled task sets (llmlab/data/tasks).

Choice scores are checked against an independent float64 loop that feeds each prefix to the
model one token at a time; acc / acc_norm, ROUGE, exact match and token F1 against hand-worked
cases.
"""

import copy
import hashlib
import json
from importlib import resources

import numpy as np
import pytest
import torch

import llmlab
from llmlab import tasks
from llmlab.datasets import load_docs_records
from llmlab.tasks import (
    ChoiceScores,
    evaluate_multiple_choice,
    exact_match,
    lead_baseline,
    load_multiple_choice,
    load_summaries,
    multiple_choice_accuracy,
    normalize_answer,
    rouge,
    score_choices,
    summarize,
    token_f1,
)
from training import tasks_data

TASK_DIR = resources.files("llmlab").joinpath("data", "tasks")


def _manifest():
    return json.loads(TASK_DIR.joinpath("manifest.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------
# The frozen data
# --------------------------------------------------------------------------------------


def test_files_match_manifest():
    manifest = _manifest()
    assert set(manifest["files"]) == {
        f"{kind}_{split}.jsonl" for kind in ("mc", "summaries") for split in ("validation", "test")
    }
    for name, entry in manifest["files"].items():
        data = TASK_DIR.joinpath(name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert len(data) == entry["bytes"]
        assert data.count(b"\n") == entry["rows"]


def test_rebuild_is_byte_identical(tmp_path):
    manifest = tasks_data.build(tmp_path, log=lambda *a: None)
    for name, entry in manifest["files"].items():
        assert (tmp_path / name).read_bytes() == TASK_DIR.joinpath(name).read_bytes(), name
    assert manifest["files"] == _manifest()["files"]


@pytest.mark.parametrize("split", ["validation", "test"])
def test_multiple_choice_questions(split):
    questions = load_multiple_choice(split)
    assert len(questions) == _manifest()["files"][f"mc_{split}.jsonl"]["rows"]
    assert len(questions) >= 200
    docs = {r["source"]: r["text"] for r in load_docs_records(split)}
    ids = set()
    for q in questions:
        assert set(q) == {"id", "source", "context", "choices", "label", "answer", "kind",
                          "context_cut"}
        ids.add(q["id"])
        assert len(q["choices"]) == 4 and len(set(q["choices"])) == 4
        assert 0 <= q["label"] < 4
        assert q["choices"][q["label"]] == " " + q["answer"]
        assert all(c.startswith(" ") and c[1:].strip() == c[1:] for c in q["choices"])
        # Built from this split's documents only: context + true word is the document's text.
        doc = docs[q["source"]]
        assert q["context"] + " " + q["answer"] in doc
        assert len(q["context"]) <= tasks_data.MAX_CONTEXT_CHARS
        assert doc.startswith(q["context"]) != q["context_cut"]
        # Distractors never occur in the question's own document.
        words = {w.lower() for w in tasks_data._WORD.findall(doc)}
        for k, c in enumerate(q["choices"]):
            if k != q["label"]:
                assert c[1:].lower() not in words
                assert tasks_data.word_kind(c[1:]) == q["kind"]
    assert len(ids) == len(questions)
    # The correct letter is spread over the four positions.
    counts = np.bincount([q["label"] for q in questions], minlength=4)
    assert counts.min() > 0.15 * len(questions)


def _grams13(text):
    words = text.lower().split()
    return {" ".join(words[i : i + 13]) for i in range(len(words) - 12)}


def test_task_data_never_from_training_docs():
    train = load_docs_records("train")
    train_sources = {r["source"] for r in train}
    train_grams = set().union(*(_grams13(r["text"]) for r in train))
    for split in ("validation", "test"):
        held_out = {r["source"] for r in load_docs_records(split)}
        for row in load_multiple_choice(split) + load_summaries(split):
            assert row["source"] in held_out and row["source"] not in train_sources
        for p in load_summaries(split):
            assert not _grams13(p["document"]) & train_grams, p["id"]
            assert not _grams13(p["summary"]) & train_grams, p["id"]
            assert not any(p["document"] in r["text"] for r in train)
        for q in load_multiple_choice(split):
            last13 = " ".join((q["context"] + " " + q["answer"]).lower().split()[-13:])
            assert last13 not in train_grams, q["id"]


@pytest.mark.parametrize("split", ["validation", "test"])
def test_summaries(split):
    pairs = load_summaries(split)
    assert (50 if split == "test" else 30) <= len(pairs) <= 100
    docs = {r["source"]: r["text"] for r in load_docs_records(split)}
    for p in pairs:
        assert set(p) == {"id", "source", "document", "summary"}
        doc = docs[p["source"]]
        head, body = doc.split("\n\n", 1)
        assert p["summary"] == " ".join(head.split())
        assert p["document"] == body.strip("\n")
        assert p["summary"].endswith(".")
        assert tasks_data.MIN_BODY_CHARS <= len(p["document"]) <= tasks_data.MAX_BODY_CHARS


def test_bad_split():
    with pytest.raises(ValueError, match=r"split='train'.*'validation', 'test'"):
        load_multiple_choice("train")
    with pytest.raises(ValueError, match=r"split='dev'"):
        load_summaries("dev")


@pytest.mark.skipif(
    not {"tiny-llama", "tiny-mistral"} <= set(llmlab.list_bundled_models()),
    reason="bundled models not built",
)
@pytest.mark.parametrize("name", ["tiny-llama", "tiny-mistral"])
def test_task_data_fits_bundled_context(name):
    tok = llmlab.load_tokenizer(name)
    limit = 512
    for split in ("validation", "test"):
        for q in load_multiple_choice(split):
            n_ctx = len(tok(q["context"])["input_ids"])
            n_cont = max(len(tok(c, add_special_tokens=False)["input_ids"]) for c in q["choices"])
            assert n_ctx + n_cont <= limit, q["id"]
        for p in load_summaries(split):
            prompt = tasks.SUMMARY_TEMPLATE.format(text=p["document"])
            assert len(tok(prompt)["input_ids"]) + 64 <= limit, p["id"]


def test_word_kind():
    assert tasks_data.word_kind("token_urlsafe") == "identifier"
    assert tasks_data.word_kind("getBuffer") == "identifier"
    assert tasks_data.word_kind("FILENAME") == "upper"
    assert tasks_data.word_kind("Python") == "capitalized"
    assert tasks_data.word_kind("matched") == "word-ed"
    assert tasks_data.word_kind("the") is None
    assert tasks_data.word_kind("__init__") is None


# --------------------------------------------------------------------------------------
# score_choices against an independent float64 loop
# --------------------------------------------------------------------------------------

CONTEXTS = [
    "The quick brown fox jumps over the",
    "def add(a, b):\n    return",
    "Return the number of items in a",
]
CHOICES = [
    [" lazy dog.", " cat", " é"],
    [" a + b", " None"],
    [" container.", " box", " list of things", " x"],
]


def reference_scores(model64, tok, contexts, choices_list):
    """Sum of log p(token | all before it), one token at a time, in float64."""
    out = []
    for ctx, choices in zip(contexts, choices_list):
        ctx_ids = tok(ctx)["input_ids"]
        row = []
        for choice in choices:
            cont = tok(choice, add_special_tokens=False)["input_ids"]
            total = 0.0
            for j, target in enumerate(cont):
                prefix = torch.tensor([ctx_ids + cont[:j]])
                with torch.no_grad():
                    logits = model64(input_ids=prefix).logits[0, -1].double()
                total += torch.log_softmax(logits, -1)[target].item()
            row.append(total)
        out.append(np.array(row))
    return out


@pytest.fixture(scope="module", params=["llama", "mistral"])
def loaded(request, tiny_llama_dir, tiny_mistral_dir):
    folder = tiny_llama_dir if request.param == "llama" else tiny_mistral_dir
    model = llmlab.load_model(folder)
    return model, llmlab.load_tokenizer(folder), copy.deepcopy(model).double()


@pytest.mark.parametrize("batch_size", [1, 3, 16])
def test_score_choices_matches_reference(loaded, batch_size):
    model, tok, model64 = loaded
    ref = reference_scores(model64, tok, CONTEXTS, CHOICES)
    got = score_choices(model, tok, CONTEXTS, CHOICES, batch_size=batch_size)
    assert len(got) == 3
    for i, choices in enumerate(CHOICES):
        np.testing.assert_allclose(got.loglikelihoods[i], ref[i], rtol=1e-5, atol=1e-5)
        assert got.loglikelihoods[i].dtype == np.float64
        tokens = [len(tok(c, add_special_tokens=False)["input_ids"]) for c in choices]
        assert got.n_tokens[i].tolist() == tokens
        assert got.n_bytes[i].tolist() == [len(c.encode("utf-8")) for c in choices]
    assert got.n_bytes[0].tolist() == [10, 4, 3]  # " é" is 3 bytes: a space and 2 for é


def test_score_choices_full_path_matches_reference(loaded, monkeypatch):
    """The fallback (one sequence per choice) for models without a reorderable cache."""
    model, tok, model64 = loaded
    from llmlab.backends.transformers import TransformersBackend

    monkeypatch.setattr(TransformersBackend, "_score_shared", TransformersBackend._expand)
    ref = reference_scores(model64, tok, CONTEXTS, CHOICES)
    got = score_choices(model, tok, CONTEXTS, CHOICES, batch_size=2)
    for i in range(len(CHOICES)):
        np.testing.assert_allclose(got.loglikelihoods[i], ref[i], rtol=1e-5, atol=1e-5)


def test_score_choices_sliding_window_model(tiny_mistral_dir):
    """A window shorter than the contexts: the cache would drop keys, so the full path runs."""
    model = llmlab.load_model(tiny_mistral_dir)
    model.config.sliding_window = 6
    tok = llmlab.load_tokenizer(tiny_mistral_dir)
    model64 = copy.deepcopy(model).double()
    ref = reference_scores(model64, tok, CONTEXTS, CHOICES)
    got = score_choices(model, tok, CONTEXTS, CHOICES, batch_size=3)
    for i in range(len(CHOICES)):
        np.testing.assert_allclose(got.loglikelihoods[i], ref[i], rtol=1e-5, atol=1e-5)


def test_score_choices_runs_each_context_once(loaded):
    """Two forward passes per batch: the contexts, then the choices on their cache."""
    model, tok, _ = loaded
    calls = []
    handle = model.register_forward_hook(lambda m, args, kwargs_out: calls.append(1))
    try:
        score_choices(model, tok, CONTEXTS, CHOICES, batch_size=16)
    finally:
        handle.remove()
    assert len(calls) == 2


def test_score_choices_single_token_choices_one_pass(loaded):
    model, tok, model64 = loaded
    words = [w for w in (" the", " a", " of", " to", " is", " in", " and") if
             len(tok(w, add_special_tokens=False)["input_ids"]) == 1][:2]
    if len(words) < 2:
        pytest.skip("the tiny tokenizer has too few one-token words")
    ref = reference_scores(model64, tok, CONTEXTS[:1], [words])
    got = score_choices(model, tok, CONTEXTS[:1], [words])
    np.testing.assert_allclose(got.loglikelihoods[0], ref[0], rtol=1e-5, atol=1e-5)


def test_score_choices_no_warnings(loaded, recwarn):
    model, tok, _ = loaded
    score_choices(model, tok, CONTEXTS, CHOICES)
    assert not [w for w in recwarn if issubclass(w.category, (FutureWarning, UserWarning))]


def test_score_choices_leaves_model_and_tokenizer_alone(loaded):
    model, tok, _ = loaded
    state = {k: v.clone() for k, v in model.state_dict().items()}
    training, pad, side = model.training, tok.pad_token, tok.padding_side
    score_choices(model, tok, CONTEXTS, CHOICES)
    summarize(model, tok, ["Return the number of items."], max_new_tokens=3)
    assert model.training == training and tok.pad_token == pad and tok.padding_side == side
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_score_choices_refuses_too_long(loaded):
    model, tok, _ = loaded  # context length 96 tokens
    long_context = "the quick brown fox " * 60
    with pytest.raises(ValueError, match=r"contexts\[1\] is too long.*longer than the model's context length 96"):
        score_choices(model, tok, ["ok", long_context], [[" a", " b"], [" a", " b"]])


@pytest.mark.parametrize(
    "contexts,choices_list,exc,match",
    [
        (["a", "b"], [[" x", " y"]], ValueError, r"choices_list has 1 entries but contexts has 2"),
        (["a"], [[" x"]], ValueError, r"choices_list\[0\] has 1 choice"),
        (["a"], [[" x", ""]], ValueError, r"choices_list\[0\]\[1\] is an empty string"),
        (["a"], [" x y"], TypeError, r"choices_list\[0\] is the string"),
        ("a", [[" x", " y"]], TypeError, r"contexts must be a list"),
        ([], [], ValueError, r"contexts is empty"),
        ([3], [[" x", " y"]], TypeError, r"contexts\[0\] is a int"),
    ],
)
def test_score_choices_bad_input(loaded, contexts, choices_list, exc, match):
    model, tok, _ = loaded
    with pytest.raises(exc, match=match):
        score_choices(model, tok, contexts, choices_list)


def test_score_choices_bad_batch_size(loaded):
    model, tok, _ = loaded
    with pytest.raises(ValueError, match="batch_size=0"):
        score_choices(model, tok, CONTEXTS, CHOICES, batch_size=0)


def test_evaluate_multiple_choice_matches_parts(loaded):
    model, tok, _ = loaded
    questions = [
        {"context": c, "choices": ch, "label": 0} for c, ch in zip(CONTEXTS, CHOICES)
    ]
    res = evaluate_multiple_choice(model, tok, questions, batch_size=2)
    direct = multiple_choice_accuracy(score_choices(model, tok, CONTEXTS, CHOICES), [0, 0, 0])
    assert res.acc == direct.acc and res.acc_norm == direct.acc_norm
    assert abs(res.chance - np.mean([1 / 3, 1 / 2, 1 / 4])) < 1e-12
    with pytest.raises(ValueError, match=r"questions\[0\] lacks the key\(s\) label"):
        evaluate_multiple_choice(model, tok, [{"context": "a", "choices": [" x", " y"]}])


# --------------------------------------------------------------------------------------
# acc and acc_norm by hand
# --------------------------------------------------------------------------------------


def _hand_scores():
    # q0: raw argmax 0; per byte: -4/2=-2.0, -6/12=-0.5, -5/5=-1.0 -> 1
    # q1: raw argmax 1; per byte: -3/3=-1.0, -2/3=-0.67 -> 1
    # q2: raw argmax 2 (-1.0); per byte: -8/16=-0.5, -9/10=-0.9, -1/1=-1.0, -7/7=-1.0 -> 0
    return ChoiceScores(
        loglikelihoods=[np.array([-4.0, -6.0, -5.0]), np.array([-3.0, -2.0]),
                        np.array([-8.0, -9.0, -1.0, -7.0])],
        n_tokens=[np.array([1, 3, 2]), np.array([1, 1]), np.array([4, 4, 1, 3])],
        n_bytes=[np.array([2, 12, 5]), np.array([3, 3]), np.array([16, 10, 1, 7])],
    )


def test_accuracy_by_hand():
    scores = _hand_scores()
    assert scores.predict().tolist() == [0, 1, 2]
    assert scores.predict(normalize=True).tolist() == [1, 1, 0]
    res = multiple_choice_accuracy(scores, [1, 1, 2])
    assert res.acc == pytest.approx(2 / 3) and res.acc_norm == pytest.approx(2 / 3)
    res = multiple_choice_accuracy(scores, [0, 1, 2])
    assert res.acc == 1.0 and res.acc_norm == pytest.approx(1 / 3)
    # stderr: sample std (ddof=1) / sqrt(n) of the 0/1 outcomes [1, 0, 0]
    assert res.acc_norm_stderr == pytest.approx(np.sqrt(((2 / 3) ** 2 + 2 * (1 / 3) ** 2) / 2 / 3))
    assert res.acc_stderr == 0.0
    assert res.chance == pytest.approx((1 / 3 + 1 / 2 + 1 / 4) / 3)
    assert res.n_questions == 3
    # margins: true minus best wrong
    assert res.margins.tolist() == pytest.approx([1.0, 1.0, 6.0])
    assert "acc=1.000" in repr(res)


def test_accuracy_y_true_is_sklearns_name_and_labels_still_works():
    scores = _hand_scores()
    new = multiple_choice_accuracy(scores, y_true=[1, 1, 2])
    assert new.y_true.tolist() == [1, 1, 2]
    assert (new.acc, new.acc_norm) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    with pytest.warns(FutureWarning, match=r"multiple_choice_accuracy\(labels=\.\.\.\) is "
                                           r"deprecated: the argument is now called y_true"):
        old = multiple_choice_accuracy(scores, labels=[1, 1, 2])
    assert (old.acc, old.acc_norm, old.acc_stderr) == (new.acc, new.acc_norm, new.acc_stderr)
    np.testing.assert_array_equal(old.pred_norm, new.pred_norm)
    with pytest.warns(FutureWarning, match=r"MultipleChoiceResult\.labels is deprecated"):
        np.testing.assert_array_equal(new.labels, new.y_true)
    with pytest.raises(TypeError, match="got y_true twice"):
        multiple_choice_accuracy(scores, [1, 1, 2], labels=[1, 1, 2])


def test_accuracy_ties_go_to_first_choice():
    scores = ChoiceScores([np.array([-1.0, -1.0])], [np.array([1, 1])], [np.array([2, 2])])
    assert multiple_choice_accuracy(scores, [0]).acc == 1.0
    assert multiple_choice_accuracy(scores, [1]).acc == 0.0


def test_accuracy_bad_labels():
    scores = _hand_scores()
    with pytest.raises(ValueError, match=r"y_true has 2 entries but there are 3 questions"):
        multiple_choice_accuracy(scores, [0, 1])
    with pytest.raises(ValueError, match=r"y_true\[1\]=2 is not a choice index.*0\.\.1"):
        multiple_choice_accuracy(scores, [0, 2, 0])
    with pytest.raises(ValueError, match=r"y_true\[0\]=True"):
        multiple_choice_accuracy(scores, [True, 0, 0])
    with pytest.raises(TypeError, match="ChoiceScores"):
        multiple_choice_accuracy([[-1.0, -2.0]], [0])
    with pytest.raises(ValueError, match="normalize='bytes'"):
        scores.predict(normalize="bytes")


# --------------------------------------------------------------------------------------
# Summaries: ROUGE, lead baseline, generation
# --------------------------------------------------------------------------------------


def test_rouge_by_hand():
    # pred "the cat is on a mat" vs ref "the cat sat on the mat" (6 tokens each):
    # unigrams: the(1 of 2), cat, on, mat -> 4 shared: P = R = 4/6.
    # bigrams: only "the cat" is shared among 5 each: 1/5.
    # LCS: the cat on mat -> 4: P = R = 4/6.
    got = rouge(["the cat is on a mat"], ["the cat sat on the mat"])
    assert got["rouge1"] == pytest.approx(2 / 3)
    assert got["rouge2"] == pytest.approx(0.2)
    assert got["rougeL"] == pytest.approx(2 / 3)


def test_rouge_averages_and_edge_cases():
    # pair 1: identical -> 1; pair 2: nothing shared -> 0; pair 3: empty prediction -> 0.
    # Stemming: "files" and "file" share the stem "file".
    got = rouge(["Open the files!", "zebra", ""], ["open the file", "open a socket", "x y"])
    assert got["rouge1"] == pytest.approx(1 / 3)
    assert rouge(["a b"], ["a c"], rouge_types="rouge1") == {"rouge1": pytest.approx(0.5)}
    # Recall-heavy case: pred "a" vs ref "a b c d": P=1, R=1/4 -> F = 2*0.25/1.25 = 0.4
    assert rouge(["a"], ["a b c d"], rouge_types=["rouge1"])["rouge1"] == pytest.approx(0.4)
    nostem = rouge(["files"], ["file"], rouge_types=["rouge1"], use_stemmer=False)
    assert nostem["rouge1"] == 0.0


def test_rouge_bad_input():
    with pytest.raises(ValueError, match="predictions has 1 entries but references has 2"):
        rouge(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="rouge type 'rougeX' is unknown"):
        rouge(["a"], ["a"], rouge_types=["rougeX"])
    with pytest.raises(ValueError, match="predictions is empty"):
        rouge([], [])
    with pytest.raises(TypeError, match="predictions must be a list"):
        rouge("a", "a")


def test_lead_baseline():
    text = "Open a file.  It is\nread in binary mode. Done"
    assert lead_baseline(text) == "Open a file."
    assert lead_baseline(text, n_words=5) == "Open a file. It is"
    assert lead_baseline("no end of sentence here") == "no end of sentence here"
    assert lead_baseline("Use os.path.join(a, b) to join. Then x.") == (
        "Use os.path.join(a, b) to join."
    )
    assert lead_baseline("Is it? Yes.") == "Is it?"
    with pytest.raises(ValueError, match="n_words=0"):
        lead_baseline(text, n_words=0)
    with pytest.raises(TypeError, match="text must be a str"):
        lead_baseline(["a"])


def test_summarize(loaded):
    model, tok, _ = loaded
    texts = ["Return the number of items in a container.", "Open the file and read it."]
    out = summarize(model, tok, texts, max_new_tokens=6)
    assert len(out) == 2 and all(isinstance(s, str) and "\n" not in s for s in out)
    assert summarize(model, tok, texts, max_new_tokens=6) == out  # greedy: deterministic
    # The first line of what generate() gives, decoded.
    ids = torch.tensor([tok(tasks.SUMMARY_TEMPLATE.format(text=texts[0]))["input_ids"]])
    with torch.no_grad():
        gen = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                             max_new_tokens=6, do_sample=False, pad_token_id=tok.pad_token_id)
    full = tok.decode(gen[0, ids.shape[1]:].tolist(), skip_special_tokens=True)
    assert out[0] == full.strip().split("\n", 1)[0].strip()
    assert gen.shape[1] - ids.shape[1] <= 6


def test_summarize_batching_does_not_change_outputs(loaded):
    model, tok, _ = loaded
    texts = ["Return the number of items in a container.", "Open it.",
             "The quick brown fox jumps over the lazy dog, twice."]
    one_by_one = summarize(model, tok, texts, max_new_tokens=5, batch_size=1)
    batched = summarize(model, tok, texts, max_new_tokens=5, batch_size=3)
    assert batched == one_by_one
    assert summarize(model, tok, texts[1:2], max_new_tokens=5) == one_by_one[1:2]


def test_summarize_no_warnings(loaded, recwarn, capfd):
    model, tok, _ = loaded
    model = copy.deepcopy(model)
    model.generation_config.max_length = 96  # as the bundled models' generation_config.json
    capfd.readouterr()
    summarize(model, tok, "Return the number of items.", max_new_tokens=4)
    assert not [w for w in recwarn if "max_new_tokens" in str(w.message)]
    assert capfd.readouterr().err == ""


def test_summarize_bad_input(loaded):
    model, tok, _ = loaded  # context 96 tokens
    with pytest.raises(ValueError, match=r"texts\[0\].*exceeds the model's context length 96"):
        summarize(model, tok, ["word " * 200])
    with pytest.raises(ValueError, match="max_new_tokens=0"):
        summarize(model, tok, ["a b c"], max_new_tokens=0)
    with pytest.raises(ValueError, match="must contain the placeholder"):
        summarize(model, tok, ["a b c"], template="no placeholder")
    with pytest.raises(ValueError, match="batch_size=0"):
        summarize(model, tok, ["a b c"], batch_size=0)


# --------------------------------------------------------------------------------------
# Exact match and token F1 (SQuAD) by hand
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        ("The Cat!", "cat"),
        ("  an   apple, a pear ", "apple pear"),
        ("Theory of the thing", "theory of thing"),  # "the" only as a whole word
        ("os.path.join()", "ospathjoin"),
        ("", ""),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


@pytest.mark.parametrize(
    "pred,ref,em,f1",
    [
        ("The list.", "list", 1.0, 1.0),
        ("a list", "lists", 0.0, 0.0),
        ("the big cat", "a cat sat", 0.0, 0.5),  # "big cat" vs "cat sat": 1 shared of 2 and 2
        ("open file", "open the file now", 0.0, 0.8),  # P = 2/2, R = 2/3 -> 0.8
        ("cat cat cat", "cat", 0.0, 0.5),  # multiset overlap 1: P = 1/3, R = 1 -> 0.5
        ("", "", 1.0, 1.0),
        ("the", "", 1.0, 1.0),  # both empty after normalisation
        ("a", "cat", 0.0, 0.0),  # prediction empty after normalisation
    ],
)
def test_exact_match_and_f1_by_hand(pred, ref, em, f1):
    assert exact_match(pred, ref) == em
    assert token_f1(pred, ref) == pytest.approx(f1)
    assert token_f1(ref, pred) == pytest.approx(f1)  # symmetric


def test_exact_match_bad_input():
    with pytest.raises(TypeError, match="prediction=None is not supported; expected an "
                                        "instance of str"):
        exact_match(None, "a")
    with pytest.raises(TypeError, match="reference=3 is not supported; expected an instance "
                                        "of str"):
        token_f1("a", 3)


def test_doctests_pass():
    import doctest

    from llmlab import answers, summaries

    for module in (tasks, tasks_data, summaries, answers):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        assert result.attempted > 0, module.__name__
