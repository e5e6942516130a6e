"""Shared fixtures: tiny random Llama and Mistral models saved to disk.

They go through the same from_pretrained path as real checkpoints, so the loaders and the
metrics are tested without any download. Sizes keep every linear layer's output a multiple
of 64 (bitsandbytes' 4-bit CPU kernels need multiples of 32).
"""

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tools/, training/
from locks import run_alone, shared  # noqa: E402  (tests/locks.py)

from tools.grading import THREAD_VARIABLES, share_of_cores  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

TINY = dict(
    vocab_size=320,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=1,
    max_position_embeddings=96,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=0,
    tie_word_embeddings=False,
)


SAMPLE_TEXT = [
    "The quick brown fox jumps over the lazy dog.",
    "def add(a, b):\n    return a + b\n",
    "Return the number of items in a container.",
    "Perplexity is the exponential of the mean negative log-likelihood.",
    "Message: win a free prize now\nLabel: spam",
    "Message: see you at lunch\nLabel: ham",
]


def sample_training_data():
    """A few seconds' worth of training text for the recipe's tests: 30 pydoc topics to train
    on, 10 for validation, and ten labelled spam messages."""
    from pydoc_data.topics import topics

    from training.train import TrainingData

    texts = [t for _, t in sorted(topics.items())]
    spam = [("WIN a free prize now! call 0800 123", "spam"), ("see you at lunch tomorrow", "ham")]
    return TrainingData(
        docs_train=texts[:30],
        spam_train_texts=[t for t, _ in spam] * 5,
        spam_train_labels=[y for _, y in spam] * 5,
        docs_validation=texts[30:40],
        source="pydoc_data.topics (test sample)",
    )


def build_tiny_tokenizer(vocab_size=320):
    """A byte-level BPE tokenizer with <pad>=0, <s>=1 (BOS, prepended), </s>=2."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(SAMPLE_TEXT * 20, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )


def _save_tiny(kind, folder, **overrides):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM

    params = {**TINY, **overrides}
    torch.manual_seed(0 if kind == "llama" else 1)
    if kind == "llama":
        model = LlamaForCausalLM(LlamaConfig(**params))
    else:
        model = MistralForCausalLM(MistralConfig(sliding_window=None, **params))
    model.save_pretrained(folder)
    build_tiny_tokenizer(params["vocab_size"]).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory):
    return _save_tiny("llama", tmp_path_factory.mktemp("tiny_llama"))


@pytest.fixture(scope="session")
def tiny_mistral_dir(tmp_path_factory):
    return _save_tiny("mistral", tmp_path_factory.mktemp("tiny_mistral"))


@pytest.fixture(scope="session")
def odd_llama_dir(tmp_path_factory):
    """A Llama whose MLP width (100) is not a multiple of 32: 4-bit must refuse it."""
    return _save_tiny("llama", tmp_path_factory.mktemp("odd_llama"), intermediate_size=100)


@pytest.fixture(params=["llama", "mistral"])
def tiny_dir(request, tiny_llama_dir, tiny_mistral_dir):
    return tiny_llama_dir if request.param == "llama" else tiny_mistral_dir


# The fast tier (`make test-fast`): unit tests and doctests. Everything in these files runs
# notebooks, servers, browsers or whole bundled-model evaluations, so it belongs to the full
# tier only (`make test`, what CI runs), as does any test marked `slow`.
FULL_TIER_FILES = {
    "test_benchmarks.py",
    "test_binder.py",
    "test_browser.py",
    "test_bundled_models.py",
    "test_cli.py",
    "test_course.py",
    "test_hub.py",
    "test_instructors.py",
    "test_lab.py",
    "test_training.py",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in FULL_TIER_FILES:
            item.add_marker(pytest.mark.slow)
    first = {name: i for i, name in enumerate(FIRST_FILES)}  # defined below, with the lock
    items.sort(key=lambda item: first.get(item.path.name, len(first)))  # stable: else as found


@pytest.fixture(autouse=True)
def _torch_threads_restored():
    """A test that changes torch's thread count (a benchmark, say) must not change the next
    test's: the count is put back after every test."""
    import sys

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    yield
    torch = sys.modules.get("torch")
    if torch is not None and before is not None and torch.get_num_threads() != before:
        torch.set_num_threads(before)


# --- side by side ------------------------------------------------------------------------------
# `make test` runs the suite in TEST_WORKERS processes (pytest-xdist, whole files per process).
# Two things keep that honest:
# * threads: each worker, and everything it starts (kernels, servers, the CLI), gets its share
#   of the cores. torch starts one thread per core in every process; two such processes on a
#   2-core machine fight over the cores and each runs 2-3x slower.
# * measurements: a test marked ``alone`` runs with no other test running: the course's timed
#   gradings, the benchmark's ratios. A readers-writer lock over files shared by the workers:
#   every other test holds it shared; an ``alone`` test waits for the tests in progress to end
#   and keeps new ones from starting (the turnstile) until it is done. Without workers the lock
#   is never contended.
# * order: the files with ``alone`` tests come first, then the longest ones, so that no worker
#   waits long for the other's test in progress and no long test is left for the end (the
#   Makefile passes --no-loadscope-reorder: pytest-xdist would otherwise hand out the files
#   with the most tests first, and the hub's term, in a file of four tests, came last).
FIRST_FILES = ["test_benchmarks.py", "test_course.py", "test_hub.py", "test_bundled_models.py",
               "test_gguf.py", "test_instructors.py", "test_llamacpp.py", "test_wheel.py",
               "test_browser.py", "test_instruct.py", "test_bench_lm_eval.py"]


_made_lock_folder = []


def pytest_configure(config):
    # The controller (or a run without workers) makes the lock folder; workers inherit it.
    if "LLMLAB_TEST_LOCKS" not in os.environ:
        os.environ["LLMLAB_TEST_LOCKS"] = tempfile.mkdtemp(prefix="llmlab-test-locks-")
        _made_lock_folder.append(os.environ["LLMLAB_TEST_LOCKS"])
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if os.environ.get("PYTEST_XDIST_WORKER") and workers > 1:
        share = str(share_of_cores(workers))
        for var in THREAD_VARIABLES:  # read by torch at import, here and in subprocesses
            os.environ[var] = share


def pytest_unconfigure(config):
    import shutil

    while _made_lock_folder:  # by the process that made it, after every worker has stopped
        shutil.rmtree(_made_lock_folder.pop(), ignore_errors=True)
        os.environ.pop("LLMLAB_TEST_LOCKS", None)


def _alone(item):
    return item is not None and item.get_closest_marker("alone") is not None


_held_alone = []  # the open `run_alone()` of an alone hold that spans a file's tests


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """The lock is held over a test's whole run: the set-up and tear-down of the wider-scoped
    fixtures it is the first or last to use (a module's model evaluation, the course's
    gradings) included. An alone hold lasts until the file's last consecutive alone test: a
    test of another worker slipping in between two of them (the hub's term, say) would make
    the next one wait for it."""
    if not _alone(item):
        with shared():
            yield
        return
    if not _held_alone:
        hold = run_alone()
        hold.__enter__()
        _held_alone.append(hold)
    try:
        yield
    finally:
        if not (_alone(nextitem) and nextitem.path == item.path):
            _held_alone.pop().__exit__(None, None, None)
