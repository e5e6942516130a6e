"""Tests of the bundled data sets (llmlab.datasets and the frozen files under llmlab/data).

Leakage is re-checked here with a method independent of the builder's MinHash/LSH: exact
hashes of normalised text, and exact word 5-gram Jaccard between every evaluation document and
every training document that shares at least one 5-gram with it.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources

import pytest

from llmlab import datasets
from training.xz_baseline import xz_bits_per_byte

DOCS_SPLITS = ("train", "validation", "test")


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Nothing here needs the hub; make sure nothing could reach it."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _grams(text: str, n: int = 5) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


@pytest.fixture(scope="module")
def docs():
    return {split: datasets.load_docs(split) for split in DOCS_SPLITS}


@pytest.fixture(scope="module")
def spam():
    out = {split: datasets.load_spam(split) for split in ("train", "validation", "test")}
    out["test_rare"] = datasets.load_spam("test", variant="rare")
    return out


# ------------------------------------------------------------------------------ docs corpus

def test_docs_splits_non_empty_strings(docs):
    for split, texts in docs.items():
        assert len(texts) > 50, split
        assert all(isinstance(t, str) and len(t) >= 200 for t in texts), split


def test_docs_split_sizes(docs):
    size = {s: sum(len(t.encode()) for t in texts) for s, texts in docs.items()}
    assert 6_000_000 <= size["train"] <= 10_000_000
    for split in ("validation", "test"):
        assert 60_000 <= size[split] <= 120_000, (split, size[split])


def test_docs_eval_splits_are_python_docs_only():
    for split in ("validation", "test"):
        records = datasets.load_docs_records(split)
        assert all(r["source"].startswith("python/") for r in records)
    train_sources = {r["source"].split("/")[0] for r in datasets.load_docs_records("train")}
    assert {"python", "numpy", "scipy", "sklearn", "matplotlib"} <= train_sources


def test_docs_no_exact_duplicates_across_splits(docs):
    hashes = {s: {hashlib.sha256(_norm(t).encode()).hexdigest() for t in texts}
              for s, texts in docs.items()}
    assert not hashes["train"] & hashes["validation"]
    assert not hashes["train"] & hashes["test"]
    assert not hashes["validation"] & hashes["test"]


def _max_cross_jaccard(splits: dict[str, list[str]], eval_names=("validation", "test")):
    """Largest word-5-gram Jaccard between an evaluation text and a text of another split."""
    evals = [(s, _grams(t)) for s in eval_names for t in splits[s]]
    index: dict[str, list[int]] = {}
    for k, (_, grams) in enumerate(evals):
        for g in grams:
            index.setdefault(g, []).append(k)
    worst = 0.0
    for other_split, texts in splits.items():
        for text in texts:
            grams = _grams(text)
            shared: dict[int, int] = {}
            for g in grams:
                for k in index.get(g, ()):
                    shared[k] = shared.get(k, 0) + 1
            for k, inter in shared.items():
                if evals[k][0] != other_split:
                    worst = max(worst, inter / (len(evals[k][1]) + len(grams) - inter))
    return worst


def test_near_duplicate_check_catches_a_planted_copy():
    base = " ".join(f"word{i}" for i in range(200))
    near = base.replace("word100", "changed")
    splits = {"train": [base], "validation": ["something else entirely here"], "test": [near]}
    assert _max_cross_jaccard(splits) >= 0.8
    splits["test"] = ["unrelated words only in this test text, nothing shared with train"]
    assert _max_cross_jaccard(splits) < 0.8


def test_docs_no_near_duplicates_across_splits(docs):
    assert _max_cross_jaccard(docs) < 0.8


def _max_containment(splits: dict[str, list[str]], eval_names=("validation", "test")):
    """Largest share of an evaluation text's word 5-grams that occur in the training split."""
    pool = set().union(*(_grams(t) for t in splits["train"]))
    return max((len(g & pool) / len(g) for s in eval_names for t in splits[s]
                for g in [_grams(t)]), default=0.0)


def test_containment_check_catches_a_section_of_a_longer_text():
    # A test text that is one section of a long training text: Jaccard is small, but every
    # 5-gram of the test text is in training.
    long = " ".join(f"word{i}" for i in range(2000))
    section = " ".join(f"word{i}" for i in range(500, 600))
    splits = {"train": [long], "validation": ["something else entirely, nothing shared"],
              "test": [section]}
    assert _max_cross_jaccard(splits) < 0.8
    assert _max_containment(splits) == 1.0


def test_docs_no_eval_text_is_contained_in_training_text(docs):
    # The builder's purge (training.corpus, step 5) uses the same 0.8 threshold.
    assert _max_containment(docs) < 0.8


def test_corpus_purge_drops_contained_texts_and_keeps_order():
    from training.corpus import drop_contained, shingles

    train = " ".join(f"alpha{i}" for i in range(300))
    pool = shingles(train)
    inside = {"text": " ".join(f"alpha{i}" for i in range(100, 160)), "source": "python/in"}
    mostly = {"text": inside["text"] + " " + " ".join(f"new{i}" for i in range(8)),
              "source": "python/mostly"}
    fresh = {"text": " ".join(f"beta{i}" for i in range(80)), "source": "python/fresh"}
    kept, dropped = drop_contained([fresh, inside, mostly, fresh], pool)
    assert [d["source"] for d in dropped] == ["python/in", "python/mostly"]
    assert kept == [fresh, fresh]
    kept, dropped = drop_contained([inside, mostly], pool, threshold=1.0)
    assert [d["source"] for d in dropped] == ["python/in"]
    with pytest.raises(ValueError, match="threshold"):
        drop_contained([fresh], pool, threshold=0.0)


def test_docs_manifest_matches_files():
    root = resources.files("llmlab").joinpath("data")
    manifest = json.loads(root.joinpath("docs", "manifest.json").read_text())
    for split in DOCS_SPLITS:
        entry = manifest["splits"][split]
        data = root.joinpath(entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert entry["documents"] == len(datasets.load_docs(split))
    for source in manifest["sources"].values():
        assert source["licence"] and source["version"]


def test_xz_baseline_rewards_seen_text():
    train = ["The quick brown fox jumps over the lazy dog. " * 20]
    seen = xz_bits_per_byte(train, ["The quick brown fox jumps over the lazy dog."])
    alone = xz_bits_per_byte([], ["The quick brown fox jumps over the lazy dog."])
    assert 0 < seen < alone
    with pytest.raises(ValueError):
        xz_bits_per_byte(train, [])


# --------------------------------------------------------------------------------- spam set

def test_spam_counts_and_labels(spam):
    total = sum(len(spam[s][0]) for s in ("train", "validation", "test"))
    assert total >= 4000
    for split, (texts, labels) in spam.items():
        assert len(texts) == len(labels) > 0, split
        assert set(labels) == {"ham", "spam"}, split
        assert all(isinstance(t, str) and t.strip() for t in texts), split


def test_spam_rates(spam):
    n_spam = sum(spam[s][1].count("spam") for s in ("train", "validation", "test"))
    n_all = sum(len(spam[s][1]) for s in ("train", "validation", "test"))
    assert 0.11 <= n_spam / n_all <= 0.15
    for split in ("validation", "test"):
        labels = spam[split][1]
        assert 0.10 <= labels.count("spam") / len(labels) <= 0.16, split
    rare = spam["test_rare"][1]
    assert 0.01 <= rare.count("spam") / len(rare) <= 0.03


def test_spam_rare_is_subset_of_test(spam):
    test = set(zip(*spam["test"]))
    rare = list(zip(*spam["test_rare"]))
    assert set(rare) <= test
    test_ham = {t for t, y in test if y == "ham"}
    assert {t for t, y in rare if y == "ham"} == test_ham


def test_spam_no_message_shared_between_splits(spam):
    norm = {s: {_norm(t) for t in spam[s][0]} for s in ("train", "validation", "test")}
    assert not norm["train"] & norm["test"]
    assert not norm["train"] & norm["validation"]
    assert not norm["validation"] & norm["test"]
    for split, unique in norm.items():
        assert len(unique) == len(spam[split][0]), f"duplicate messages in {split}"


def test_spam_has_hard_cases(spam):
    texts, labels = spam["train"]
    ham = [t.lower() for t, y in zip(texts, labels) if y == "ham"]
    spam_texts = [t.lower() for t, y in zip(texts, labels) if y == "spam"]
    assert any("won" in t for t in ham)
    assert any("http" in t or ".com/" in t for t in ham)
    assert any("new number" in t for t in spam_texts)


def test_spam_card_says_synthetic():
    card = datasets.data_card()
    assert card["spam"]["synthetic"] is True
    readme = resources.files("llmlab").joinpath("data", "README.md").read_text()
    assert "synthetic" in readme.lower()


# ----------------------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("bad", ["dev", "TEST", "", None, 1])
def test_load_docs_bad_split(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))) as info:
        datasets.load_docs(bad)
    assert "'validation'" in str(info.value)


@pytest.mark.parametrize("bad", ["dev", "all"])
def test_load_spam_bad_split(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))) as info:
        datasets.load_spam(bad)
    assert "'train'" in str(info.value)


def test_load_spam_bad_variant():
    with pytest.raises(ValueError, match="'balanced'") as info:
        datasets.load_spam("test", variant="balanced")
    assert "'rare'" in str(info.value)


@pytest.mark.parametrize("split", ["train", "validation"])
def test_load_spam_rare_only_for_test(split):
    with pytest.raises(ValueError, match=repr(split)):
        datasets.load_spam(split, variant="rare")


def test_corpus_repurge_rewrites_eval_splits_and_is_idempotent(tmp_path):
    import lzma

    from training.corpus import repurge

    def write(name, docs):
        payload = "".join(json.dumps(d) + "\n" for d in docs).encode()
        (tmp_path / "docs" / f"{name}.jsonl.xz").write_bytes(lzma.compress(payload))

    def read(name):
        raw = lzma.decompress((tmp_path / "docs" / f"{name}.jsonl.xz").read_bytes()).decode()
        return [json.loads(line) for line in raw.splitlines()]

    (tmp_path / "docs").mkdir()
    long = " ".join(f"w{i}" for i in range(400))
    train = [{"text": long, "source": "python/topics/compound"}]
    section = {"text": " ".join(f"w{i}" for i in range(100, 150)), "source": "python/topics/for"}
    fresh = {"text": " ".join(f"v{i}" for i in range(60)), "source": "python/fresh.doc"}
    write("train", train)
    write("validation", [fresh, section])
    write("test", [section, fresh])
    train_bytes = (tmp_path / "docs" / "train.jsonl.xz").read_bytes()
    (tmp_path / "docs" / "manifest.json").write_text(json.dumps(
        {"recipe": {}, "dedupe": {}, "splits": {"train": {"documents": 1}}}))

    manifest = repurge(tmp_path, log=lambda *a: None)
    assert read("validation") == read("test") == [fresh]
    assert (tmp_path / "docs" / "train.jsonl.xz").read_bytes() == train_bytes
    record = manifest["dedupe"]["eval_texts_dropped_as_contained"]
    assert record["test"]["sources"] == record["validation"]["sources"] == ["python/topics/for"]
    assert manifest["splits"]["test"]["documents"] == 1
    assert manifest["splits"]["test"]["by_source"] == {"python": {
        "documents": 1, "text_bytes": len(fresh["text"].encode())}}
    data = (tmp_path / "docs" / "test.jsonl.xz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["splits"]["test"]["sha256"]
    # a second run drops nothing more and keeps the record of the first
    again = repurge(tmp_path, log=lambda *a: None)
    assert again["dedupe"]["eval_texts_dropped_as_contained"] == record
    assert read("test") == [fresh]
