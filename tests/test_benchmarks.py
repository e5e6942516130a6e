"""The benchmark script keeps running, and counts FLOPs the way its docstring says."""

import importlib.util
import re
from pathlib import Path

import pytest

import llmlab

ROOT = Path(__file__).resolve().parent.parent
# The benchmark's ratios are measured in one run on this machine: no other test beside them.
pytestmark = pytest.mark.alone


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_eval", ROOT / "benchmarks" / "bench_eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compute_params_split(bench):
    model = llmlab.load_model("tiny-llama")
    decoder, output = bench.compute_params(model)
    emb = model.get_input_embeddings().weight
    assert model.get_output_embeddings().weight.data_ptr() == emb.data_ptr()  # tied
    total_unique = sum(p.numel() for p in model.parameters())  # tied weight counted once
    assert output == emb.numel() == model.config.vocab_size * model.config.hidden_size
    assert decoder == total_unique - emb.numel()


def test_benchmark_runs_and_reports(bench, capsys):
    bench.main(["--model", "tiny-llama", "--threads", "1", "--n-messages", "24"])
    out = capsys.readouterr().out
    assert "--- torch threads 1" in out
    ratio = re.search(r"GFLOP/s achieved = (\d+)% of matmul peak", out)
    assert ratio and 0 < int(ratio.group(1)) < 150
    speed = re.search(r"speed-up ([\d.]+)x, max \|y_score diff\| ([\d.e+-]+)", out)
    assert speed and float(speed.group(2)) < 1e-4


def test_benchmark_restores_the_thread_count(bench, capsys):
    import torch

    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    bench.main(["--model", "tiny-llama", "--threads", str(other), "--n-messages", "4"])
    capsys.readouterr()
    assert torch.get_num_threads() == before
