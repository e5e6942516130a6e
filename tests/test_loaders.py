"""llmlab.loaders: real from_pretrained loading, quantization on the CPU, clear errors."""

import json
import os

import pytest
import torch

import llmlab
from llmlab import loaders
from llmlab.loaders import placement, resolve
from llmlab.provenance import Provenance, attach_provenance

ARCH = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM"}

# Tolerances, as relative Frobenius error ||q - ref|| / ||ref||, for one quantized linear
# layer and for the logits of the whole (two-layer, random) model.
# LLM.int8() rounds each weight row to 127 levels of its absmax and each activation row
# likewise: a layer's output moves by under 1 % (0.8 % measured), and two layers deep the
# logits by about 1 % (0.9 % measured); 2 % and 3 % leave room for its float16 casts.
# NF4 keeps 16 levels per block of 64 weights, about ten times coarser: a layer moves by
# about 9 % and the logits by about 11 % (measured); 15 % and 20 % still catch a broken path,
# and the lower bound catches a layer that was silently left unquantized (error 0).
# The real quality check (bits per byte within 2 % / 10 %) runs on the trained bundled models.
LAYER_TOL = {"8bit": 0.02, "4bit": 0.15}
REL_TOL = {"8bit": 0.03, "4bit": 0.20}
ARGMAX_AGREE = {"8bit": 0.9, "4bit": 0.6}


def _ids(model, n=24, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, model.config.vocab_size, (batch, n), generator=g)


def _rel_err(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


def test_full_precision_loads_in_eval_mode(tiny_dir):
    model = llmlab.load_model(tiny_dir)
    assert type(model).__name__ in ARCH.values()
    assert not model.training
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_dtype_bfloat16(tiny_llama_dir):
    model = llmlab.load_model(tiny_llama_dir, dtype="bfloat16")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert llmlab.memory_footprint(model) == pytest.approx(
        llmlab.memory_footprint(llmlab.load_model(tiny_llama_dir)) / 2, rel=0.01
    )


@pytest.mark.parametrize("quantization,layer", [("8bit", "Linear8bitLt"), ("4bit", "Linear4bit")])
def test_quantized_layers_and_logits(tiny_dir, quantization, layer):
    ref_model = llmlab.load_model(tiny_dir)
    q_model = llmlab.load_model(tiny_dir, quantization=quantization)
    assert not q_model.training
    kinds = {
        name: type(m).__name__
        for name, m in q_model.named_modules()
        if name.endswith(("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"))
    }
    assert kinds and set(kinds.values()) == {layer}, kinds
    ids = _ids(ref_model)
    with torch.no_grad():
        ref = ref_model(ids).logits
        out = q_model(ids).logits
        x = torch.randn(48, ref_model.config.hidden_size, generator=torch.Generator().manual_seed(1))
        layer_ref = ref_model.model.layers[0].mlp.gate_proj(x)
        layer_q = q_model.model.layers[0].mlp.gate_proj(x)
    layer_err = _rel_err(layer_q, layer_ref)
    assert 0 < layer_err < LAYER_TOL[quantization], f"{quantization} layer error {layer_err:.4f}"
    err = _rel_err(out, ref)
    assert 0 < err < REL_TOL[quantization], f"{quantization} relative logit error {err:.4f}"
    # The quantized model still ranks tokens like the original most of the time.
    agree = (out.argmax(-1) == ref.argmax(-1)).float().mean().item()
    assert agree > ARGMAX_AGREE[quantization], agree


def test_footprints_shrink(tiny_llama_dir):
    fp32 = llmlab.load_model(tiny_llama_dir)
    q8 = llmlab.load_model(tiny_llama_dir, quantization="8bit")
    q4 = llmlab.load_model(tiny_llama_dir, quantization="4bit")
    f32, f8, f4 = (llmlab.memory_footprint(m) for m in (fp32, q8, q4))
    assert f32 == fp32.get_memory_footprint()
    assert f8 < f32 and f4 < f8
    by_dtype = llmlab.parameters_by_dtype(q8)
    assert "int8" in by_dtype and by_dtype["int8"]["bytes"] == by_dtype["int8"]["elements"]
    by4 = llmlab.parameters_by_dtype(q4)
    assert "uint8" in by4
    n_fp32 = sum(p.numel() for p in fp32.parameters())
    assert llmlab.parameters_by_dtype(fp32) == {
        "float32": {"tensors": len(list(fp32.parameters())), "elements": n_fp32, "bytes": 4 * n_fp32}
    }


def test_plain_transformers_classes_load_the_same_folder(tiny_llama_dir, tiny_mistral_dir):
    from transformers import LlamaForCausalLM, MistralForCausalLM

    assert isinstance(llmlab.load_model(tiny_llama_dir), LlamaForCausalLM)
    assert isinstance(llmlab.load_model(tiny_mistral_dir), MistralForCausalLM)
    assert isinstance(MistralForCausalLM.from_pretrained(tiny_mistral_dir), MistralForCausalLM)


# --- provenance ----------------------------------------------------------------------------


def test_provenance_is_one_typed_record(tiny_llama_dir):
    import dataclasses

    model = llmlab.load_model(tiny_llama_dir, dtype="bfloat16")
    record = loaders.model_provenance(model)
    assert isinstance(record, Provenance)
    assert (record.source, record.format, record.backend) == (
        tiny_llama_dir, "transformers", "transformers")
    assert record.dtype == str(next(model.parameters()).dtype).replace("torch.", "")
    assert record.device == "cpu" and record.quantization is None
    assert record.file_quantization is None and record.dequantized is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.dtype = "float32"
    meta = loaders.model_metadata(model)
    assert meta == dataclasses.asdict(record)
    assert set(meta) == {f.name for f in dataclasses.fields(Provenance)}
    assert not hasattr(model, "llmlab_metadata")  # no loose dict next to the record


def test_provenance_of_a_model_loaded_elsewhere(tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    meta = loaders.model_metadata(model)
    assert meta["source"] == model.config.name_or_path
    assert (meta["format"], meta["dtype"], meta["device"]) == ("transformers", "float32", "cpu")
    assert meta["file_quantization"] is None and meta["quantization"] is None


def test_a_llamacpp_record_is_read_as_it_is():
    """A llama.cpp model is no torch module: its footprint is its file, its record unchanged."""

    class FileBacked:
        file_bytes = 1234

    model = attach_provenance(FileBacked(), Provenance(
        source="m.gguf", format="gguf", backend="llama.cpp", file_quantization="Q8_0",
        device="cpu"))
    assert llmlab.memory_footprint(model) == 1234
    assert loaders.model_metadata(model) == model.llmlab_provenance.as_dict()
    with pytest.raises(TypeError, match="must be a Provenance, got dict"):
        attach_provenance(FileBacked(), {"format": "gguf"})


# --- bad input ---------------------------------------------------------------------------


def test_invalid_quantization(tiny_llama_dir):
    with pytest.raises(ValueError, match=r"quantization='3bit'.*None, '8bit', '4bit'"):
        llmlab.load_model(tiny_llama_dir, quantization="3bit")


def test_invalid_dtype(tiny_llama_dir):
    with pytest.raises(ValueError, match=r"dtype='int8'.*float32"):
        llmlab.load_model(tiny_llama_dir, dtype="int8")


def test_4bit_refuses_layers_not_multiple_of_32(odd_llama_dir):
    with pytest.raises(ValueError, match=r"multiple of 32.*mlp\.gate_proj \(out_features=100\)"):
        llmlab.load_model(odd_llama_dir, quantization="4bit")
    # 8-bit has no such limit.
    assert llmlab.load_model(odd_llama_dir, quantization="8bit") is not None


def test_unknown_bundled_name_lists_known(monkeypatch):
    monkeypatch.setattr(resolve, "list_bundled_models", lambda: ["tiny-llama", "tiny-mistral"])
    with pytest.raises(ValueError, match=r"tiny-lama.*tiny-llama, tiny-mistral.*did you mean 'tiny-llama'"):
        loaders.resolve_model_path("tiny-lama")


def test_hub_id_while_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match=r"offline.*bundled model"):
        llmlab.load_model("meta-llama/Llama-3.2-1B")
    with pytest.raises(ValueError, match="offline"):
        llmlab.load_tokenizer("mistralai/Mistral-7B-v0.1")


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        llmlab.load_model(str(tmp_path / "nowhere" / "model"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        llmlab.load_model("./no-such-model")


def test_folder_without_config(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        llmlab.load_model(tmp_path)


def test_file_instead_of_folder(tmp_path):
    f = tmp_path / "model.bin"
    f.write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="is a file"):
        llmlab.load_model(f)


def test_not_a_causal_lm(tmp_path):
    from transformers import ViTConfig

    ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"vit is not a causal language model.*model_type='vit'"):
        llmlab.load_model(tmp_path)


def test_an_encoder_checkpoint_is_named_before_its_weights_are_looked_for(tmp_path):
    """bert has a causal-LM class in transformers, but a BertModel checkpoint is an encoder:
    the error names the model type, even with no weights in the folder."""
    from transformers import BertConfig

    cfg = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2)
    cfg.architectures = ["BertModel"]
    cfg.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"bert is not a causal.*model_type='bert', BertModel\)"):
        llmlab.load_model(tmp_path)


@pytest.mark.parametrize("fields", [{}, {"is_decoder": False}])
def test_a_config_only_encoder_folder_names_its_type(tmp_path, fields):
    """A bert config.json with no architectures and no weights: the error is about bert, not
    about the missing model.safetensors."""
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", **fields}))
    with pytest.raises(ValueError, match=r"^bert is not a causal language model.*is_decoder"):
        llmlab.load_model(tmp_path)
    with pytest.raises(ValueError, match="bert is not a causal"):
        resolve.read_config(str(tmp_path))


def test_a_bert_decoder_config_passes_the_check(tmp_path):
    """With is_decoder (what transformers' BertLMHeadModel needs) bert is a causal LM: the
    check lets it through, and what fails is the missing weights."""
    from transformers import BertConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    assert MODEL_FOR_CAUSAL_LM_MAPPING_NAMES["bert"] == "BertLMHeadModel"
    BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
               is_decoder=True).save_pretrained(tmp_path)
    assert resolve.read_config(str(tmp_path)).is_decoder
    with pytest.raises(OSError, match="could not load the model weights"):
        llmlab.load_model(tmp_path)


def test_a_config_without_model_type(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    with pytest.raises(ValueError, match="has no model_type"):
        llmlab.load_model(tmp_path)


def test_8bit_models_do_not_log_a_line_per_matmul(tiny_llama_dir, caplog):
    import logging

    logging.getLogger("bitsandbytes.autograd._functions").setLevel(logging.NOTSET)
    model = llmlab.load_model(tiny_llama_dir, quantization="8bit")
    tok = llmlab.load_tokenizer(tiny_llama_dir)
    with caplog.at_level(logging.WARNING):
        llmlab.perplexity(model, tok, ["def add(a, b):\n    return a + b\n"] * 3)
    assert not [r for r in caplog.records if "MatMul8bitLt" in r.getMessage()]
    # and the warning is real: with its logger back at WARNING, the same run logs it
    logging.getLogger("bitsandbytes.autograd._functions").setLevel(logging.WARNING)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        llmlab.perplexity(model, tok, ["def add(a, b):\n    return a + b\n"])
    assert [r for r in caplog.records if "MatMul8bitLt" in r.getMessage()]
    llmlab.loaders.quiet_bitsandbytes()


def test_config_without_weights(tmp_path, tiny_llama_dir):
    with open(os.path.join(tiny_llama_dir, "config.json")) as fh:
        cfg = json.load(fh)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(OSError, match="could not load the model weights"):
        llmlab.load_model(tmp_path)


def test_wrong_type():
    with pytest.raises(TypeError, match="got int"):
        llmlab.load_model(3)


def test_empty_name():
    with pytest.raises(ValueError, match="empty"):
        llmlab.load_model("  ")


# --- devices -------------------------------------------------------------------------------------

HAS_CUDA = torch.cuda.is_available()
NEEDS_GPU = "needs a CUDA GPU (none here); on a GPU machine run: make test PYTEST_ARGS='-m gpu'"


def test_invalid_device(tiny_llama_dir):
    with pytest.raises(ValueError, match=r"device='tpu'.*'cpu', 'cuda', 'auto'"):
        llmlab.load_model(tiny_llama_dir, device="tpu")
    with pytest.raises(ValueError, match=r"device=0 is not supported"):
        llmlab.load_model(tiny_llama_dir, device=0)


@pytest.mark.skipif(HAS_CUDA, reason="this machine has CUDA")
@pytest.mark.parametrize("quantization", [None, "8bit"])
def test_cuda_without_cuda_is_a_clear_error(tiny_llama_dir, quantization):
    expected = r"device='cuda' needs a CUDA GPU.*is_available\(\) is False.*device='cpu'"
    with pytest.raises(RuntimeError, match=expected):
        llmlab.load_model(tiny_llama_dir, device="cuda", quantization=quantization)


@pytest.mark.skipif(HAS_CUDA, reason="this machine has CUDA")
def test_auto_without_gpu_falls_back_to_cpu(tiny_llama_dir):
    with pytest.warns(UserWarning, match="no CUDA GPU is available here, so the model loads on"):
        model = llmlab.load_model(tiny_llama_dir, device="auto")
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    assert loaders.model_metadata(model)["device"] == "cpu"


def test_device_map_with_gpus(monkeypatch):
    """What each device asks accelerate for, as seen on a (pretend) machine with two GPUs."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert placement.device_map_for("cpu") is None
    assert placement.device_map_for("auto") == "auto"
    assert placement.device_map_for("cuda") == {"": 0}
    assert placement.device_map_for("cuda:1") == {"": 1}
    with pytest.raises(ValueError, match=r"device='cuda:2': only 2 CUDA device"):
        placement.device_map_for("cuda:2")


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason=NEEDS_GPU)
@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_gpu_placement_and_scoring(tiny_llama_dir, device):
    from conftest import SAMPLE_TEXT

    cpu = llmlab.load_model(tiny_llama_dir)
    model = llmlab.load_model(tiny_llama_dir, device=device)
    assert {p.device.type for p in model.parameters()} == {"cuda"}
    assert str(loaders.model_metadata(model)["device"]).startswith("cuda")
    tok = llmlab.load_tokenizer(tiny_llama_dir)
    # The scorers put their inputs on the model's device: same perplexity as on the CPU.
    ref = llmlab.perplexity(cpu, tok, SAMPLE_TEXT).perplexity
    assert llmlab.perplexity(model, tok, SAMPLE_TEXT).perplexity == pytest.approx(ref, rel=1e-4)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason=NEEDS_GPU)
@pytest.mark.parametrize("quantization,layer", [("8bit", "Linear8bitLt"), ("4bit", "Linear4bit")])
def test_gpu_quantized_uses_cuda_kernels(tiny_llama_dir, quantization, layer):
    ref = llmlab.load_model(tiny_llama_dir)
    model = llmlab.load_model(tiny_llama_dir, quantization=quantization, device="cuda")
    up = model.model.layers[0].mlp.up_proj
    assert type(up).__name__ == layer and up.weight.device.type == "cuda"
    ids = _ids(ref)
    with torch.no_grad():
        err = _rel_err(model(ids.cuda()).logits.cpu(), ref(ids).logits)
    assert 0 < err < REL_TOL[quantization], err


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason=NEEDS_GPU)
def test_gpu_4bit_has_no_cpu_kernel_limit(odd_llama_dir):
    model = llmlab.load_model(odd_llama_dir, quantization="4bit", device="cuda")
    with torch.no_grad():
        assert torch.isfinite(model(_ids(model).cuda()).logits).all()
