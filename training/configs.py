"""Architectures and training hyper-parameters of the bundled models.

Every size here is chosen so that each ``nn.Linear`` has an output size that is a multiple
of 64 (q/k/v/o, gate/up/down projections and the tied ``lm_head``, whose output is the
vocabulary). bitsandbytes needs that to quantize the layers to 8 or 4 bits on CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

__all__ = ["BUNDLED", "SPECS", "ModelSpec", "get_spec", "lineage", "make_config", "stages"]


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build, train and describe one bundled model."""

    name: str
    architecture: str  # "llama" or "mistral"
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    intermediate_size: int
    context_length: int = 512
    rope_theta: float = 10000.0
    # training
    seq_len: int = 512
    batch_size: int = 8
    peak_lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 60
    weight_decay: float = 0.1
    betas: tuple = (0.9, 0.95)
    grad_clip: float = 1.0
    spam_oversample: int = 3
    python_oversample: int = 2
    eval_every: int = 50
    val_sequences: int = 48
    minutes: float = 45.0
    #: Run the forward/backward matmuls in bfloat16 (``torch.autocast``) while the weights,
    #: the optimizer state and the loss stay float32. Saved weights are float32.
    autocast_bf16: bool = True
    #: Dropout on the token embeddings and on every attention and MLP output before it joins
    #: the residual stream, during training only (forward hooks; nothing of it is saved, so
    #: the shipped model is a plain Llama/Mistral). 0 turns it off.
    dropout: float = 0.0
    seed: int = 1234
    #: Overrides for a further training stage that starts from the previous stage's weights
    #: and tokenizer (a fresh warmup + cosine, a new data order, more Python documentation in
    #: the mix), or a list of such dicts for several. Empty: one stage only.
    continuation: dict | list = field(default_factory=dict)
    #: An instruct stage (``training.instruct``): ``{"base": <bundled model>,
    #: "docs_questions": n, "plain_docs": m}``. The stage starts from the base model's
    #: weights and tokenizer, gives the tokenizer the chat template and trains on chat
    #: conversations (plus ``m`` plain documents). Empty: a pretraining stage.
    instruct: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    def check(self) -> None:
        """Raise ``ValueError`` when a size breaks the multiple-of-64 rule (or the instruct
        stage is malformed)."""
        if self.instruct and not {"base", "docs_questions", "plain_docs"} <= set(self.instruct):
            raise ValueError(f"instruct={self.instruct!r} needs 'base', 'docs_questions' "
                             "and 'plain_docs'")
        if self.instruct and self.continuation:
            raise ValueError("an instruct stage has no continuation stages")
        sizes = {
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "kv projection": self.num_kv_heads * self.head_dim,
        }
        bad = {k: v for k, v in sizes.items() if v % 64}
        if bad:
            raise ValueError(f"sizes must be multiples of 64 for bitsandbytes, got {bad}")
        if self.hidden_size % self.num_heads or self.num_heads % self.num_kv_heads:
            raise ValueError("hidden_size must divide into heads, heads into kv heads")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.architecture not in ("llama", "mistral"):
            raise ValueError(f"architecture must be 'llama' or 'mistral', got {self.architecture!r}")

    def to_dict(self) -> dict:
        return asdict(self)


SPECS: dict[str, ModelSpec] = {
    "tiny-llama": ModelSpec(
        name="tiny-llama",
        architecture="llama",
        vocab_size=4096,
        hidden_size=256,
        num_layers=4,
        num_heads=4,
        num_kv_heads=4,
        intermediate_size=704,
        peak_lr=3e-3,
        continuation=[
            {"peak_lr": 1.5e-3, "warmup_steps": 30, "python_oversample": 4, "seed": 1235,
             "minutes": 40.0},
            {"peak_lr": 7.5e-4, "warmup_steps": 20, "python_oversample": 6, "seed": 1236,
             "minutes": 20.0},
        ],
    ),
    "tiny-mistral": ModelSpec(
        name="tiny-mistral",
        architecture="mistral",
        vocab_size=8192,
        hidden_size=256,
        num_layers=4,
        num_heads=4,
        num_kv_heads=2,
        intermediate_size=640,  # keeps the float32 file under 20 MB with the 8192 vocab
        peak_lr=2e-3,
        continuation=[
            {"peak_lr": 1e-3, "warmup_steps": 30, "python_oversample": 6, "seed": 1235,
             "minutes": 40.0},
            # A longer third stage with more Python documentation (the test split's domain)
            # in the mix, a lower peak learning rate and dropout 0.1: without dropout this
            # stage's validation loss turned up after 1,300 steps (best 3.988 nats/token);
            # with it, it kept falling to 3.865 at step 2,050.
            {"peak_lr": 6e-4, "warmup_steps": 50, "python_oversample": 8, "seed": 1237,
             "minutes": 58.0, "dropout": 0.1},
        ],
    ),
    # A micro model for the smoke test: seconds to train, same code path.
    "micro-llama": ModelSpec(
        name="micro-llama",
        architecture="llama",
        vocab_size=320,
        hidden_size=64,
        num_layers=1,
        num_heads=1,
        num_kv_heads=1,
        intermediate_size=128,
        seq_len=64,
        batch_size=4,
        warmup_steps=2,
        eval_every=5,
        val_sequences=2,
        autocast_bf16=False,
    ),
    "micro-mistral": ModelSpec(
        name="micro-mistral",
        architecture="mistral",
        vocab_size=384,
        hidden_size=128,
        num_layers=1,
        num_heads=2,
        num_kv_heads=1,
        intermediate_size=128,
        seq_len=64,
        batch_size=4,
        warmup_steps=2,
        eval_every=5,
        val_sequences=2,
        autocast_bf16=False,
    ),
}

# The instruct variant of tiny-llama: one short chat stage on top of the bundled model (same
# architecture and tokenizer, so the same file size). A lower peak learning rate than the
# pretraining stages, so that the documentation it modelled is not washed out.
SPECS["tiny-llama-instruct"] = replace(
    SPECS["tiny-llama"],
    name="tiny-llama-instruct",
    continuation={},
    peak_lr=1e-3,
    warmup_steps=20,
    eval_every=20,
    seed=1240,
    minutes=16.0,
    instruct={"base": "tiny-llama", "spam_repeats": 2, "docs_questions": 800,
              "plain_docs": 300},
)

BUNDLED = ("tiny-llama", "tiny-mistral", "tiny-llama-instruct")


def get_spec(name: str, **overrides) -> ModelSpec:
    """Return the spec called ``name``, with ``overrides`` applied."""
    if name not in SPECS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(SPECS)}")
    spec = replace(SPECS[name], **{k: v for k, v in overrides.items() if v is not None})
    spec.check()
    return spec


def stages(spec: ModelSpec) -> list:
    """The training stages of ``spec``: itself, then one per continuation.

    ``spec.continuation`` is a dict of overrides (one more stage) or a list of such dicts
    (several more stages, each starting from the one before).
    """
    more = spec.continuation
    if isinstance(more, dict):
        more = [more] if more else []
    out = [spec]
    for overrides in more:
        nxt = replace(out[-1], **{**overrides, "continuation": {}})
        nxt.check()
        out.append(nxt)
    return out


def lineage(spec: ModelSpec) -> list:
    """Every stage a shipped model went through, first first: :func:`stages`, preceded for an
    instruct stage by its base model's stages (whose weights it starts from)."""
    if spec.instruct:
        return lineage(get_spec(spec.instruct["base"])) + stages(spec)
    return stages(spec)


def make_config(spec: ModelSpec, *, bos_token_id: int, eos_token_id: int, pad_token_id: int):
    """Return the transformers config (LlamaConfig or MistralConfig) for ``spec``."""
    common = {
        "vocab_size": spec.vocab_size,
        "hidden_size": spec.hidden_size,
        "intermediate_size": spec.intermediate_size,
        "num_hidden_layers": spec.num_layers,
        "num_attention_heads": spec.num_heads,
        "num_key_value_heads": spec.num_kv_heads,
        "head_dim": spec.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": spec.context_length,
        "rms_norm_eps": 1e-5,
        "initializer_range": 0.02,
        "tie_word_embeddings": True,
        "bos_token_id": bos_token_id,
        "eos_token_id": eos_token_id,
        "pad_token_id": pad_token_id,
        "attention_dropout": 0.0,
        "use_cache": True,
    }
    if spec.architecture == "llama":
        from transformers import LlamaConfig

        cfg = LlamaConfig(attention_bias=False, mlp_bias=False, **common)
    else:
        from transformers import MistralConfig

        # No sliding window: attention is plain causal over the whole 512-token context.
        cfg = MistralConfig(sliding_window=None, **common)
    _set_rope_theta(cfg, spec.rope_theta)
    return cfg


def _set_rope_theta(cfg, theta: float) -> None:
    # transformers 5 keeps RoPE settings in ``rope_parameters``; 4.x in ``rope_theta``.
    rp = getattr(cfg, "rope_parameters", None)
    if isinstance(rp, dict):
        rp["rope_theta"] = theta
        rp.setdefault("rope_type", "default")
    cfg.rope_theta = theta
