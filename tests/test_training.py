"""Smoke tests of the training recipe (training/) and checks of the bundled models."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import itertools

from conftest import sample_training_data

from llmlab.perplexity import plan_windows
from training.configs import BUNDLED, SPECS, get_spec, make_config
from training.sequences import pack
from training.train import lr_factor, train_model

MODELS = Path(__file__).resolve().parent.parent / "llmlab" / "models"


@pytest.mark.parametrize("name", ["micro-llama", "micro-mistral"])
def test_train_micro_model_and_load_back(tmp_path, name):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = get_spec(name)
    summary = train_model(spec, tmp_path, data=sample_training_data(), steps=4, threads=1, progress=False)
    assert summary["steps_run"] == 4
    for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
              "generation_config.json", "training_log.csv", "training_summary.json"):
        assert (tmp_path / f).is_file(), f

    model = AutoModelForCausalLM.from_pretrained(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    expected = "LlamaForCausalLM" if spec.architecture == "llama" else "MistralForCausalLM"
    assert type(model).__name__ == expected
    assert model.config.vocab_size == spec.vocab_size == len(tok)

    ids = tok("hello").input_ids
    assert ids[0] == tok.bos_token_id == model.config.bos_token_id
    assert tok.eos_token_id == model.config.eos_token_id
    assert tok.pad_token_id == model.config.pad_token_id
    text = "  Tabs\tand ünïcode 🤖\r\nline two  "
    assert tok.decode(tok(text).input_ids, skip_special_tokens=True) == text

    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]))
    assert out.logits.shape == (1, len(ids), spec.vocab_size)

    rows = (tmp_path / "training_log.csv").read_text().splitlines()
    assert rows[0] == "step,tokens_seen,train_loss,val_loss,elapsed_s,lr"
    assert len(rows) >= 2


def test_training_is_seeded(tmp_path):
    spec = get_spec("micro-llama")
    a = train_model(spec, tmp_path / "a", data=sample_training_data(), steps=3, threads=1, progress=False)
    b = train_model(spec, tmp_path / "b", data=sample_training_data(), steps=3, threads=1, progress=False)
    assert a["final_val_loss"] == pytest.approx(b["final_val_loss"], rel=1e-5)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_specs_are_quantizable(name):
    from transformers import AutoModelForCausalLM

    spec = get_spec(name)
    cfg = make_config(spec, bos_token_id=1, eos_token_id=2, pad_token_id=3)
    assert cfg.max_position_embeddings == 512
    if spec.architecture == "mistral":
        assert cfg.sliding_window is None or cfg.sliding_window >= 512
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(cfg)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert linears
    assert all(m.out_features % 64 == 0 for m in linears)


def test_bad_spec_is_rejected():
    with pytest.raises(ValueError, match="multiples of 64"):
        get_spec("tiny-llama", vocab_size=4000)
    with pytest.raises(ValueError, match="unknown model"):
        get_spec("huge-llama")


def test_bad_dropout_is_rejected():
    with pytest.raises(ValueError, match="dropout"):
        get_spec("micro-llama", dropout=1.0)
    with pytest.raises(ValueError, match="dropout"):
        get_spec("micro-llama", dropout=-0.1)


@pytest.mark.parametrize("name", ["micro-llama", "micro-mistral"])
def test_training_dropout_acts_in_train_mode_only(name):
    from transformers import AutoModelForCausalLM

    from training.train import add_training_dropout

    spec = get_spec(name)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(
        make_config(spec, bos_token_id=1, eos_token_id=2, pad_token_id=3))
    x = torch.tensor([[1, 5, 9, 13, 17, 21]])
    with torch.no_grad():
        model.eval()
        plain = model(input_ids=x).logits
        handles = add_training_dropout(model, 0.5)
        # one hook on the embeddings, one on each attention and each MLP
        assert len(handles) == 1 + 2 * spec.num_layers
        assert torch.equal(model(input_ids=x).logits, plain)  # eval mode: no dropout
        model.train()
        assert not torch.allclose(model(input_ids=x).logits, plain)
        for h in handles:
            h.remove()
        assert torch.equal(model(input_ids=x).logits, plain)  # removed: plain again


def test_dropout_training_saves_a_plain_model(tmp_path):
    from transformers import AutoModelForCausalLM

    spec = get_spec("micro-llama", dropout=0.2)
    summary = train_model(spec, tmp_path, data=sample_training_data(), steps=3, threads=1, progress=False)
    assert summary["spec"]["dropout"] == 0.2
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["attention_dropout"] == 0.0
    model = AutoModelForCausalLM.from_pretrained(tmp_path)
    model.train()
    x = torch.tensor([[1, 5, 9, 13]])
    with torch.no_grad():  # no hook travels with the saved model: train mode is deterministic
        assert torch.equal(model(input_ids=x).logits, model(input_ids=x).logits)


def test_lr_schedule_warms_up_then_decays():
    lrs = [lr_factor(s, warmup=10, total=100, min_ratio=0.1) for s in range(101)]
    assert lrs[0] == pytest.approx(0.1)
    assert max(lrs) == pytest.approx(1.0)
    assert lrs[100] == pytest.approx(0.1)
    assert all(a >= b for a, b in itertools.pairwise(lrs[10:]))


def test_pack_cuts_fixed_length_rows():
    rows = pack([[1, 5, 6, 2], [1, 7, 2]], 3)
    assert rows.tolist() == [[1, 5, 6], [2, 1, 7]]


@pytest.mark.parametrize("n", [1, 2, 100, 512, 513, 700, 1500])
def test_eval_windows_score_each_token_once(n):
    scored = []
    for start, end, first in plan_windows(n, 512, 256):
        assert 0 <= start < first <= end <= n and end - start <= 512
        assert first - start >= min(256, first)  # every scored token sees context
        scored.extend(range(first, end))
    assert scored == list(range(1, n))


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_model_folder(name):
    folder = MODELS / name
    if not (folder / "model.safetensors").exists():
        pytest.skip(f"{name} is not built")
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["max_position_embeddings"] == 512
    assert cfg["vocab_size"] % 64 == 0
    assert cfg["model_type"] == get_spec(name).architecture
    if cfg["model_type"] == "mistral":
        assert cfg.get("sliding_window") is None or cfg["sliding_window"] >= 512
    assert (folder / "model.safetensors").stat().st_size < 20_000_000
    tok_cfg = json.loads((folder / "tokenizer_config.json").read_text())
    assert tok_cfg["tokenizer_class"] == "PreTrainedTokenizerFast"
    gen = json.loads((folder / "generation_config.json").read_text())
    assert gen["bos_token_id"] == cfg["bos_token_id"]
    rows = (folder / "training_log.csv").read_text().splitlines()
    assert rows[0].startswith("step,tokens_seen,train_loss,val_loss,elapsed_s")
    assert all(math.isfinite(float(r.split(",")[3])) for r in rows[1:])


def test_second_stage_starts_from_first(tmp_path):
    from dataclasses import replace

    from training.configs import stages

    spec = replace(get_spec("micro-mistral"), continuation={"peak_lr": 1e-3, "seed": 7})
    first, second = stages(spec)
    assert second.peak_lr == 1e-3 and second.seed == 7 and not second.continuation
    data = sample_training_data()
    s1 = train_model(first, tmp_path / "s1", data=data, steps=3, threads=1, progress=False)
    s2 = train_model(second, tmp_path / "s2", data=data, steps=2, threads=1, progress=False,
                     init_from=tmp_path / "s1")
    assert s2["previous_stage"]["steps_run"] == s1["steps_run"] == 3
    assert s2["total_steps"] == 5
    tok1 = (tmp_path / "s1" / "tokenizer.json").read_text()
    assert (tmp_path / "s2" / "tokenizer.json").read_text() == tok1
    # one log for both stages, on one step axis
    rows = (tmp_path / "s2" / "training_log.csv").read_text().splitlines()
    assert rows[0] == "step,tokens_seen,train_loss,val_loss,elapsed_s,lr,stage"
    steps = [int(r.split(",")[0]) for r in rows[1:]]
    assert steps == sorted(steps) and steps[-1] == 5
    assert {r.split(",")[-1] for r in rows[1:]} == {"1", "2"}


def test_cli_builds_every_stage_and_reproduce_replays_them(tmp_path, monkeypatch):
    """``build`` chains the stages; ``--reproduce`` reads their step counts back and rebuilds."""
    from dataclasses import replace

    import training.train as train_mod
    from training import __main__ as cli
    from training import configs
    from safetensors.torch import load_file

    spec = replace(configs.SPECS["micro-llama"],
                   continuation=[{"seed": 5, "peak_lr": 1e-3}, {"seed": 6, "warmup_steps": 1}])
    monkeypatch.setitem(configs.SPECS, "micro-llama", spec)
    monkeypatch.setattr(train_mod, "load_training_data", sample_training_data)
    out = tmp_path / "models"
    assert cli.build(["--model", "micro-llama", "--steps", "3", "--out", str(out),
                      "--no-evaluate"]) == 0
    folder = out / "micro-llama"
    first = load_file(folder / "model.safetensors")
    summary = json.loads((folder / "training_summary.json").read_text())
    assert summary["spec"]["seed"] == 6
    assert summary["previous_stage"]["spec"]["seed"] == 5
    assert summary["previous_stage"]["previous_stage"]["spec"]["seed"] == spec.seed
    assert summary["total_steps"] == 9
    assert cli._recorded_steps(out, "micro-llama") == [3, 3, 3]
    log = (folder / "training_log.csv").read_text().splitlines()
    assert log[0].endswith(",stage")
    assert {row.rsplit(",", 1)[1] for row in log[1:]} == {"1", "2", "3"}

    assert cli.build(["--model", "micro-llama", "--reproduce", "--out", str(out),
                      "--no-evaluate"]) == 0
    replay = load_file(folder / "model.safetensors")
    assert all(torch.equal(first[k], v) for k, v in replay.items())  # seeded: same weights

    summary = json.loads((folder / "training_summary.json").read_text())
    (folder / "training_summary.json").write_text(json.dumps(
        {**summary, "steps_run": 2}))  # the last stage recorded 2 steps, not 3
    assert cli.build(["--model", "micro-llama", "--reproduce", "--out", str(out),
                      "--no-evaluate"]) == 0
    again = json.loads((folder / "training_summary.json").read_text())
    assert again["steps_run"] == 2 and again["previous_stage"]["steps_run"] == 3
    assert any(not torch.equal(first[k], v) for k, v in load_file(folder / "model.safetensors").items())

    with pytest.raises(SystemExit):  # a recorded chain of another length is refused
        monkeypatch.setitem(configs.SPECS, "micro-llama", replace(spec, continuation={}))
        cli.build(["--model", "micro-llama", "--reproduce", "--out", str(out), "--no-evaluate"])


def test_cli_writes_into_the_package_models_folder():
    """The recipe lives outside the package; by default it still builds into llmlab/models."""
    import llmlab
    from training import __main__ as cli

    assert cli.DEFAULT_OUT == Path(llmlab.__file__).resolve().parent / "models"
    assert (cli.DEFAULT_OUT / "tiny-llama" / "config.json").is_file()


def test_recipe_modules_import_no_circle():
    """Every import between the recipe's modules, deferred ones included, forms no cycle."""
    import ast
    import graphlib

    root = Path(__file__).resolve().parent.parent / "training"
    graph = {}
    for path in root.glob("*.py"):
        name = "training" if path.stem == "__init__" else f"training.{path.stem}"
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("training"):
                deps.add(node.module)
                if node.module == "training":
                    deps |= {f"training.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("training")}
        graph[name] = deps - {name}
    assert graph["training.train"] >= {"training.instruct", "training.sequences"}
    tuple(graphlib.TopologicalSorter(graph).static_order())  # CycleError on a circle
