"""`llmlab report` and `llmlab models` on the bundled models, in-process and as a command."""

import json
import subprocess
import sys

import pytest

import llmlab
from llmlab import cli

pytestmark = pytest.mark.skipif(
    "tiny-llama" not in llmlab.list_bundled_models(), reason="bundled models not built"
)


def test_report_prints_card_and_writes_outputs(tmp_path, capsys):
    code = cli.main([
        "report", "--model", "tiny-llama", "--max-docs", "4", "--max-messages", "60",
        "--out", str(tmp_path), "--quiet",
    ])
    assert code == 0
    out = capsys.readouterr().out
    assert "Report card: tiny-llama" in out
    for metric in ("perplexity", "bits_per_byte", "accuracy", "recall", "precision"):
        assert metric in out
    assert "bits per byte" in out and "memory footprint" in out
    assert "95 % interval" in out and "roc_auc" in out and "random_state=0" in out
    assert "expected calibration error" in out
    for name in ("confusion_matrix.png", "precision_recall.png", "reliability.png",
                 "report.txt", "report.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["model"] == "tiny-llama" and data["quantization"] is None
    # The JSON figures are the ones the library computes for the same slice.
    model, tok = llmlab.load_model("tiny-llama"), llmlab.load_tokenizer("tiny-llama")
    res = llmlab.perplexity(model, tok, llmlab.datasets.load_docs("test")[:4])
    assert data["bits_per_byte"] == pytest.approx(res.bits_per_byte, rel=1e-6)
    texts, y_true = llmlab.datasets.load_spam("test")
    pred = llmlab.classify(model, tok, texts[:60]).y_pred
    acc = sum(a == b for a, b in zip(y_true[:60], pred)) / 60
    assert data["card"]["metrics"]["accuracy"]["value"] == pytest.approx(acc)
    row = data["card"]["metrics"]["accuracy"]
    assert row["low"] <= acc <= row["high"]
    assert 0 <= data["expected_calibration_error"] <= 1
    # the same seed prints the same card; the intervals are the library's
    ci = llmlab.metrics.confidence_interval(llmlab.metrics.accuracy_score, y_true[:60], pred,
                                            random_state=0)
    assert (row["low"], row["high"]) == pytest.approx((ci.low, ci.high))


def test_report_asks_an_instruct_model_through_its_chat_template(tmp_path, capsys):
    """--prompt auto uses the chat template when the tokenizer has one; plain forces the
    plain prompt; the JSON says which, and its accuracy is the library's for that prompt."""
    if "tiny-llama-instruct" not in llmlab.list_bundled_models():
        pytest.skip("tiny-llama-instruct is not built")
    name = "tiny-llama-instruct"
    texts, y_true = llmlab.datasets.load_spam("test")
    model, tok = llmlab.load_model(name), llmlab.load_tokenizer(name)
    chat = llmlab.classify(model, tok, texts[:40],
                           template=list(llmlab.prompts.SPAM_CHAT_MESSAGES)).y_pred
    plain = llmlab.classify(model, tok, texts[:40]).y_pred
    assert chat != plain  # the two prompts really differ on these messages
    for option, pred in (("auto", chat), ("plain", plain), ("chat", chat)):
        out = tmp_path / option
        assert cli.main(["report", "--model", name, "--max-docs", "2", "--max-messages", "40",
                         "--n-resamples", "200", "--prompt", option, "--out", str(out),
                         "--quiet"]) == 0
        data = json.loads((out / "report.json").read_text())
        assert data["prompt"] == ("plain" if option == "plain" else "chat")
        acc = sum(a == b for a, b in zip(y_true[:40], pred)) / 40
        assert data["card"]["metrics"]["accuracy"]["value"] == pytest.approx(acc)
    assert "chat template" in capsys.readouterr().out
    with pytest.raises(ValueError, match="has no chat template"):
        cli.evaluate_model("tiny-llama", max_docs=1, max_messages=5, n_resamples=50,
                           prompt="chat")


def test_report_seed_and_level_options(capsys):
    args = ["report", "--model", "tiny-llama", "--max-docs", "3", "--max-messages", "30",
            "--quiet", "--n-resamples", "500", "--confidence-level", "0.9"]
    assert cli.main([*args, "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert "90 % interval" in first and "500 resamples, random_state=3" in first
    assert cli.main([*args, "--seed", "3"]) == 0
    assert capsys.readouterr().out.split("evaluated in")[0] == first.split("evaluated in")[0]
    with pytest.raises(SystemExit):
        cli.main([*args, "--confidence-level", "95"])


def test_report_quantized_8bit(capsys):
    code = cli.main([
        "report", "--model", "tiny-mistral", "--quantization", "8bit",
        "--max-docs", "2", "--max-messages", "20", "--quiet",
    ])
    assert code == 0
    assert "Report card: tiny-mistral (8bit)" in capsys.readouterr().out


def test_bad_model_is_a_clear_error(capsys):
    assert cli.main(["report", "--model", "tiny-lama", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "llmlab: error:" in err and "tiny-llama" in err


def test_bad_arguments_rejected_by_argparse(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["report", "--model", "tiny-llama", "--quantization", "3bit"])
    assert exc.value.code == 2
    assert "invalid choice: '3bit'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["report", "--model", "tiny-llama", "--max-docs", "0"])


def test_models_command_and_console_script():
    proc = subprocess.run(
        [sys.executable, "-m", "llmlab.cli", "models"], capture_output=True, text=True, check=True
    )
    assert proc.stdout.split() == llmlab.list_bundled_models()
