"""GGUF files: export with the gguf package's writer, load through transformers, clear errors.

The files are written once per session from conftest's tiny random models (a Llama with an
untied head and a Mistral with grouped-query attention), so the loader is tested on real GGUF
files without a download. The whole-split round trip on the bundled models is marked slow.
"""

import os
import shutil

import numpy as np
import pytest
import torch
from conftest import SAMPLE_TEXT

import llmlab
from llmlab import loaders
from llmlab.gguf import GGUFError, check_loadable, find_gguf, read_gguf_header
from llmlab import export_gguf as export

ODD_TEXTS = SAMPLE_TEXT + [
    "",
    " leading space and  two   spaces",
    "tabs\tand\nnewlines\n\n  indented",
    "unicode: café, naïve, 東京, emoji 🙂",
    "numbers 12345 and 3.14159, symbols <>{}[]!?",
    "<s> looks special </s>",
]


@pytest.fixture(scope="session")
def gguf_files(tmp_path_factory, tiny_llama_dir, tiny_mistral_dir):
    """{(arch, kind): path} for f32 and q8_0 exports of the tiny Llama and Mistral."""
    out = tmp_path_factory.mktemp("gguf")
    files = {}
    for arch, folder in (("llama", tiny_llama_dir), ("mistral", tiny_mistral_dir)):
        for kind in ("f32", "q8_0"):
            files[arch, kind] = str(
                export.export_gguf(folder, out / arch, kind=kind, name=f"tiny-{arch}")
            )
    return files


def _logits(model, n=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, model.config.vocab_size, (2, n), generator=g)
    with torch.no_grad():
        return model(ids).logits


def _rel_err(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


# --- loading what the recipe wrote ---------------------------------------------------------


@pytest.mark.parametrize("arch", ["llama", "mistral"])
def test_f32_gguf_is_the_same_model(gguf_files, tiny_llama_dir, tiny_mistral_dir, arch):
    folder = tiny_llama_dir if arch == "llama" else tiny_mistral_dir
    ref = llmlab.load_model(folder)
    model = llmlab.load_model(gguf_files[arch, "f32"])
    # llama.cpp stores a Mistral without a sliding window as a Llama: the same function.
    assert type(model).__name__ == "LlamaForCausalLM"
    assert not model.training and not model.is_quantized
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert model.config.tie_word_embeddings == ref.config.tie_word_embeddings
    torch.testing.assert_close(_logits(model), _logits(ref), rtol=0, atol=1e-5)


@pytest.mark.parametrize("arch", ["llama", "mistral"])
def test_gguf_tokenizer_gives_the_same_ids(gguf_files, tiny_llama_dir, tiny_mistral_dir, arch):
    folder = tiny_llama_dir if arch == "llama" else tiny_mistral_dir
    ref = llmlab.load_tokenizer(folder)
    tok = llmlab.load_tokenizer(gguf_files[arch, "q8_0"])
    assert ref(ODD_TEXTS)["input_ids"] == tok(ODD_TEXTS)["input_ids"]
    assert tok("x")["input_ids"][0] == ref.bos_token_id  # BOS first, once
    assert (tok.bos_token, tok.eos_token, tok.pad_token) == (
        ref.bos_token,
        ref.eos_token,
        ref.pad_token,
    )
    ids = tok(ODD_TEXTS[3])["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == ODD_TEXTS[3]


def test_q8_0_is_close_and_says_what_it_was(gguf_files, tiny_llama_dir):
    f32 = llmlab.load_model(gguf_files["llama", "f32"])
    q8 = llmlab.load_model(gguf_files["llama", "q8_0"])
    err = _rel_err(_logits(q8), _logits(f32))
    assert 0 < err < 0.01, err  # 8-bit blocks of 32: well under 1 % on the logits
    meta = loaders.model_metadata(q8)
    assert meta["format"] == "gguf" and meta["dequantized"] is True
    assert meta["file_quantization"] == "Q8_0" and meta["dtype"] == "float32"
    assert meta["file_tensor_types"]["F32"] > 0 and meta["file_tensor_types"]["Q8_0"] > 0
    header = read_gguf_header(gguf_files["llama", "q8_0"])
    assert meta["file_tensor_types"] == header.tensor_types
    assert (meta["file_bytes"], meta["architecture"]) == (
        os.path.getsize(gguf_files["llama", "q8_0"]), "llama")
    assert loaders.model_metadata(f32)["file_quantization"] == "F32"
    footprint = llmlab.memory_footprint(q8)
    assert isinstance(footprint, loaders.GGUFFootprint) and footprint.dequantized
    assert footprint.file_quantization == "Q8_0"
    # Dequantized: in memory it is as large as the f32 model, ~4x the q8_0 file.
    assert (
        footprint
        == llmlab.memory_footprint(f32)
        == llmlab.memory_footprint(llmlab.load_model(tiny_llama_dir))
    )
    assert footprint > 3 * footprint.file_bytes
    assert "dequantized to float32" in footprint.note and "Q8_0" in footprint.note
    assert loaders.model_metadata(llmlab.load_model(tiny_llama_dir))["format"] == "transformers"


def test_dtype_applies_to_the_dequantized_weights(gguf_files):
    model = llmlab.load_model(gguf_files["llama", "q8_0"], dtype="bfloat16")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_a_llama_file_named_mistral(tiny_mistral_dir, tmp_path):
    # transformers would make it a Mistral it cannot map ("Unknown gguf model_type: mistral").
    path = export.export_gguf(tiny_mistral_dir, tmp_path, name="mistral")
    model = llmlab.load_model(path)
    assert type(model).__name__ == "LlamaForCausalLM"
    torch.testing.assert_close(
        _logits(model), _logits(llmlab.load_model(tiny_mistral_dir)), rtol=0, atol=1e-5
    )


def test_header(gguf_files):
    info = read_gguf_header(gguf_files["mistral", "q8_0"])
    assert info.version == 3 and info.architecture == "llama" and info.name == "tiny-mistral"
    assert info.file_type == "Q8_0" == info.quantization
    assert info.metadata["llama.attention.head_count_kv"] == 1
    assert info.metadata["tokenizer.ggml.model"] == "gpt2"
    assert info.metadata["tokenizer.ggml.pre"] == "gpt-2"
    assert info.n_bytes == os.path.getsize(gguf_files["mistral", "q8_0"])


@pytest.mark.parametrize("quantization,layer", [("8bit", "Linear8bitLt"), ("4bit", "Linear4bit")])
def test_bitsandbytes_on_top_of_gguf(gguf_files, quantization, layer):
    ref = llmlab.load_model(gguf_files["llama", "q8_0"])
    model = llmlab.load_model(gguf_files["llama", "q8_0"], quantization=quantization)
    assert type(model.model.layers[0].mlp.up_proj).__name__ == layer
    err = _rel_err(_logits(model), _logits(ref))
    assert 0 < err < {"8bit": 0.03, "4bit": 0.2}[quantization], err
    meta = loaders.model_metadata(model)
    assert meta["quantization"] == quantization and meta["file_quantization"] == "Q8_0"
    footprint = llmlab.memory_footprint(model)
    assert footprint < llmlab.memory_footprint(ref)
    assert "bitsandbytes" in footprint.note


def test_folder_with_exactly_one_gguf(gguf_files, tmp_path):
    shutil.copy(gguf_files["llama", "q8_0"], tmp_path / "model.gguf")
    assert find_gguf(tmp_path) == str(tmp_path / "model.gguf")
    assert llmlab.resolve_model_path(tmp_path) == str(tmp_path / "model.gguf")
    model = llmlab.load_model(tmp_path)
    assert loaders.model_metadata(model)["file_quantization"] == "Q8_0"
    assert llmlab.load_tokenizer(tmp_path)("hi")["input_ids"][0] == 1


# --- bad input -------------------------------------------------------------------------------


def test_folder_with_several_gguf_files_lists_them(gguf_files, tmp_path):
    shutil.copy(gguf_files["llama", "q8_0"], tmp_path / "b-q8_0.gguf")
    shutil.copy(gguf_files["llama", "f32"], tmp_path / "a-f32.gguf")
    with pytest.raises(
        GGUFError, match=r"2 GGUF files \(a-f32\.gguf, b-q8_0\.gguf\).*pass the one"
    ):
        llmlab.load_model(tmp_path)
    with pytest.raises(GGUFError, match="a-f32.gguf, b-q8_0.gguf"):
        llmlab.load_tokenizer(tmp_path)


def test_bad_magic(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    for load in (llmlab.load_model, llmlab.load_tokenizer):
        with pytest.raises(GGUFError, match=r"model\.gguf.*is not a GGUF file.*starts with b'PK"):
            load(bad)
    # A file that neither is named .gguf nor starts with the magic is still "a file".
    other = tmp_path / "weights.bin"
    other.write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="is a file, not a model folder nor a GGUF"):
        llmlab.load_model(other)


@pytest.mark.parametrize("keep", [0.5, 200])
def test_truncated(gguf_files, tmp_path, keep):
    with open(gguf_files["llama", "f32"], "rb") as fh:
        data = fh.read()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: int(len(data) * keep) if keep < 1 else keep])
    with pytest.raises(GGUFError, match=r"cut\.gguf.*is truncated.*again"):
        llmlab.load_model(cut)


def _write_gguf(path, arch="llama", qtype=None):
    """A minimal GGUF: one 32x32 tensor, stored as ``qtype`` (raw zero blocks) or F32."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name("oddity")
    if qtype is None:
        writer.add_tensor("token_embd.weight", np.zeros((32, 32), dtype=np.float32))
    else:
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        raw = np.zeros((32, 32 // block * size), dtype=np.uint8)
        writer.add_tensor("token_embd.weight", raw, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_unsupported_architecture(tmp_path):
    path = _write_gguf(tmp_path / "rwkv.gguf", arch="rwkv7")
    with pytest.raises(
        GGUFError, match=r"rwkv\.gguf.*'rwkv7'.*Supported architectures: .*llama.*mistral"
    ):
        llmlab.load_model(path)


def test_unsupported_quantization_type(tmp_path):
    import gguf

    path = _write_gguf(tmp_path / "q81.gguf", qtype=gguf.GGMLQuantizationType.Q8_1)
    info = read_gguf_header(path)
    assert info.tensor_types == {"Q8_1": 1}
    with pytest.raises(GGUFError, match=r"q81\.gguf.*Q8_1.*cannot be dequantized.*Q4_K.*Q8_0"):
        check_loadable(info)
    with pytest.raises(GGUFError, match="Q8_1"):
        llmlab.load_model(path)


def test_export_refuses_bad_type(tiny_llama_dir, tmp_path):
    with pytest.raises(ValueError, match=r"type='q4_k'.*f32, q8_0"):
        export.export_gguf(tiny_llama_dir, tmp_path, kind="q4_k")


def test_export_refuses_a_gguf_input(gguf_files, tmp_path):
    with pytest.raises(ValueError, match="already a GGUF file"):
        export.export_gguf(gguf_files["llama", "f32"], tmp_path)


def test_export_refuses_a_sliding_window(tmp_path):
    from conftest import TINY, _save_tiny
    from transformers import MistralConfig

    folder = _save_tiny("mistral", tmp_path / "swa")
    config = MistralConfig.from_pretrained(folder)
    config.sliding_window = 16
    config.save_pretrained(folder)
    assert TINY["max_position_embeddings"] > 16
    with pytest.raises(ValueError, match="sliding_window=16"):
        export.export_gguf(folder, tmp_path / "out")


def test_export_command_line(tiny_mistral_dir, tmp_path, capsys):
    assert (
        export.main(
            ["--model", tiny_mistral_dir, "--type", "q8_0", "--out", str(tmp_path), "--no-check"]
        )
        == 0
    )
    out = capsys.readouterr().out
    name = os.path.basename(tiny_mistral_dir.rstrip("/"))
    assert f"{name}-q8_0.gguf" in out and "MiB" in out
    assert read_gguf_header(tmp_path / f"{name}-q8_0.gguf").file_type == "Q8_0"


# --- devices ------------------------------------------------------------------------------------

HAS_CUDA = torch.cuda.is_available()
NEEDS_GPU = "needs a CUDA GPU (none here); on a GPU machine run: make test PYTEST_ARGS='-m gpu'"


@pytest.mark.skipif(HAS_CUDA, reason="this machine has CUDA")
def test_gguf_on_cuda_without_cuda(gguf_files):
    with pytest.raises(RuntimeError, match=r"device='cuda' needs a CUDA GPU"):
        llmlab.load_model(gguf_files["llama", "q8_0"], device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason=NEEDS_GPU)
@pytest.mark.parametrize("device", ["cuda", "auto"])
@pytest.mark.parametrize("quantization", [None, "8bit", "4bit"])
def test_gguf_on_gpu(gguf_files, device, quantization):
    cpu = llmlab.load_model(gguf_files["llama", "q8_0"])
    model = llmlab.load_model(gguf_files["llama", "q8_0"], device=device, quantization=quantization)
    assert {p.device.type for p in model.parameters()} == {"cuda"}
    meta = loaders.model_metadata(model)
    assert meta["file_quantization"] == "Q8_0" and str(meta["device"]).startswith("cuda")
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, cpu.config.vocab_size, (2, 24), generator=g)
    with torch.no_grad():
        ref = cpu(ids).logits
        out = model(ids.cuda()).logits.float().cpu()
    tol = {None: 1e-4, "8bit": 0.03, "4bit": 0.2}[quantization]
    assert _rel_err(out, ref) < tol


# --- the bundled models' round trip (whole test splits) -----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tiny-llama", "tiny-mistral"])
def test_bundled_round_trip(name, tmp_path, capsys):
    paths = {kind: export.export_gguf(name, tmp_path, kind=kind) for kind in ("f32", "q8_0")}
    result = export.check_round_trip(name, paths)
    print(capsys.readouterr().out)  # shown with -s / -rP: the measured figures
    assert all(n == 0 for n in result["tokenizer_mismatches"].values()), result
    assert result["rel_diff_f32"] <= 1e-5, result
    assert 0.99 < result["ratio_to_f32"]["q8_0"] < 1.01, result


@pytest.mark.skipif("tiny-llama-instruct" not in llmlab.list_bundled_models(),
                    reason="tiny-llama-instruct is not built")
def test_an_instruct_model_keeps_its_chat_template_in_gguf(tmp_path):
    """llama.cpp's server and Ollama read the template from the file: it must travel along,
    and a base model's file must not get one."""
    import gguf

    from training.instruct import CHAT_TEMPLATE

    from llmlab.prompts import render_prompts

    path = export.export_gguf("tiny-llama-instruct", tmp_path, kind="q8_0")
    field = gguf.GGUFReader(str(path)).fields["tokenizer.chat_template"]
    assert bytes(field.parts[-1]).decode() == CHAT_TEMPLATE
    tok = llmlab.load_tokenizer(str(path))
    assert tok.chat_template == CHAT_TEMPLATE
    messages = [{"role": "user", "content": "Is this message spam or ham?\n\n{text}"}]
    original = llmlab.load_tokenizer("tiny-llama-instruct")
    assert render_prompts(tok, messages, ["win now"]) == render_prompts(original, messages,
                                                                         ["win now"])
    base = export.export_gguf("tiny-llama", tmp_path, kind="q8_0")
    assert "tokenizer.chat_template" not in gguf.GGUFReader(str(base)).fields
