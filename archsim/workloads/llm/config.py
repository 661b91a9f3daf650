"""A Hugging Face `config.json` (plain JSON, no download) -> `ModelConfig`: the shapes the
`transformer` generator and the memory accounting need, and nothing else.

Families read (by `model_type`): llama / mistral / qwen2 (GQA, SwiGLU, RMSNorm; qwen2 adds a
QKV bias), mixtral (MoE, no shared experts), deepseek_v2 / deepseek_v3 (MLA; MoE with shared
experts and a dense first-k), gpt2 (MHA, GELU MLP, LayerNorm, learned positions, tied head), and
archsim's own `block_transformer` (a global block decoder + a local token decoder, each a
llama-style config). Unknown keys are ignored (config.json files carry many); a missing key
that the shapes need, or an unknown `model_type`, is a ConfigError naming the file and key.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import attrs

from archsim.config.load import read_text
from archsim.errors import ConfigError

FAMILIES = ("llama", "mistral", "qwen2", "mixtral", "deepseek_v2", "deepseek_v3", "gpt2",
            "block_transformer")

HF_DTYPES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32", "float8_e4m3fn": "fp8"}


@attrs.frozen(kw_only=True)
class ModelConfig:
    """Decoder shapes. Attention is GQA (`kv_heads` of `head_dim`) unless `kv_lora_rank` > 0
    (MLA: a latent of `kv_lora_rank` + `qk_rope_dim` values per token and layer). The FFN is
    dense (`intermediate`) in the first `first_k_dense` layers and MoE after that when
    `experts` > 0."""
    name: str
    family: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    max_positions: int = 0
    gated_ffn: bool = True              # SwiGLU (3 matrices) vs GELU MLP (2)
    norm: str = "rms"                   # rms | layer
    qkv_bias: bool = False
    tie_embeddings: bool = False
    learned_positions: bool = False     # GPT-2 position embedding table
    native_dtype: str = "bf16"          # torch_dtype
    native_weight_dtype: str = ""       # "" = native_dtype; "fp8" for DeepSeek-V3's checkpoint
    weight_block: tuple[int, int] = (0, 0)   # fp8 block-scale shape (DeepSeek-V3: 128 x 128)
    # MLA
    kv_lora_rank: int = 0
    q_lora_rank: int = 0
    qk_nope_dim: int = 0
    qk_rope_dim: int = 0
    v_head_dim: int = 0
    # MoE
    experts: int = 0
    experts_per_token: int = 0
    shared_experts: int = 0
    moe_intermediate: int = 0
    first_k_dense: int = 0
    moe_layer_freq: int = 1
    norm_topk: bool = False       # top-k routing weights renormalised to sum 1 (Mixtral; norm_topk_prob)
    # Block Transformer
    block_length: int = 0
    token_decoder: "ModelConfig | None" = None
    source: str = ""

    @property
    def mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def moe(self) -> bool:
        return self.experts > 0

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_dim + self.qk_rope_dim if self.mla else self.head_dim

    @property
    def attn_v_dim(self) -> int:
        return self.v_head_dim if self.mla else self.head_dim

    def is_moe_layer(self, i: int) -> bool:
        """Layer i (0-based) has a MoE FFN (DeepSeek: i >= first_k_dense and i % freq == 0)."""
        return self.moe and i >= self.first_k_dense and i % max(self.moe_layer_freq, 1) == 0


def _get(d: Mapping, file, *keys, default=attrs.NOTHING, kind=int):
    """The first of `keys` present in `d` (HF names differ per family), checked for type."""
    for k in keys:
        if k in d and d[k] is not None:
            v = d[k]
            if kind is int and (type(v) is not int or v < 0):
                raise ConfigError(file, k, f"expected an integer >= 0, got {v!r}")
            if kind is float and not isinstance(v, (int, float)):
                raise ConfigError(file, k, f"expected a number, got {v!r}")
            return v
    if default is attrs.NOTHING:
        raise ConfigError(file, keys[0], "required key is missing (needed for the model's shapes)")
    return default


def parse_config(data: Mapping[str, Any], *, file="<config>", name: str = "") -> ModelConfig:
    """A ModelConfig from a config.json mapping (see the module docstring)."""
    if not isinstance(data, Mapping):
        raise ConfigError(file, "<root>", "expected a JSON object (a Hugging Face config.json)")
    fam = data.get("model_type")
    if fam not in FAMILIES:
        raise ConfigError(file, "model_type", f"got {fam!r}; allowed values: " + ", ".join(FAMILIES))
    name = name or Path(str(file)).stem
    if fam == "block_transformer":
        return _block_transformer(data, file, name)
    dtype = HF_DTYPES.get(str(data.get("torch_dtype", "bfloat16")), "bf16")
    if fam == "gpt2":
        h = _get(data, file, "n_embd", "hidden_size")
        heads = _get(data, file, "n_head", "num_attention_heads")
        inner = _get(data, file, "n_inner", default=4 * h)
        return ModelConfig(name=name, family=fam, hidden=h, layers=_get(data, file, "n_layer", "num_hidden_layers"),
                           heads=heads, kv_heads=heads, head_dim=h // heads, intermediate=inner,
                           vocab=_get(data, file, "vocab_size"),
                           max_positions=_get(data, file, "n_positions", "max_position_embeddings", default=1024),
                           gated_ffn=False, norm="layer", qkv_bias=True,
                           tie_embeddings=bool(data.get("tie_word_embeddings", True)),
                           learned_positions=True, native_dtype=dtype, source=str(file))
    h = _get(data, file, "hidden_size")
    heads = _get(data, file, "num_attention_heads")
    if heads == 0 or h % heads:
        raise ConfigError(file, "num_attention_heads", f"must divide hidden_size ({h}); got {heads}")
    kv_heads = _get(data, file, "num_key_value_heads", default=heads)
    if kv_heads == 0 or heads % kv_heads:
        raise ConfigError(file, "num_key_value_heads", f"must divide num_attention_heads ({heads}); got {kv_heads}")
    head_dim = _get(data, file, "head_dim", default=h // heads)
    kw: dict[str, Any] = {}
    qc = data.get("quantization_config") or {}
    if isinstance(qc, Mapping) and qc.get("quant_method") == "fp8":
        kw["native_weight_dtype"] = "fp8"
        blk = qc.get("weight_block_size") or [0, 0]
        kw["weight_block"] = (int(blk[0]), int(blk[1]))
    if fam in ("deepseek_v2", "deepseek_v3"):
        kw.update(kv_lora_rank=_get(data, file, "kv_lora_rank"),
                  q_lora_rank=_get(data, file, "q_lora_rank", default=0),
                  qk_nope_dim=_get(data, file, "qk_nope_head_dim"),
                  qk_rope_dim=_get(data, file, "qk_rope_head_dim"),
                  v_head_dim=_get(data, file, "v_head_dim"))
        if data.get("n_routed_experts"):
            kw.update(experts=_get(data, file, "n_routed_experts"),
                      experts_per_token=_get(data, file, "num_experts_per_tok"),
                      shared_experts=_get(data, file, "n_shared_experts", default=0),
                      moe_intermediate=_get(data, file, "moe_intermediate_size"),
                      first_k_dense=_get(data, file, "first_k_dense_replace", default=0),
                      moe_layer_freq=_get(data, file, "moe_layer_freq", default=1),
                      norm_topk=bool(data.get("norm_topk_prob", False)))
    elif fam == "mixtral":
        kw.update(experts=_get(data, file, "num_local_experts"),
                  experts_per_token=_get(data, file, "num_experts_per_tok"),
                  moe_intermediate=_get(data, file, "intermediate_size"), norm_topk=True)
    act = str(data.get("hidden_act", "silu"))
    return ModelConfig(name=name, family=fam, hidden=h, layers=_get(data, file, "num_hidden_layers"),
                       heads=heads, kv_heads=kv_heads, head_dim=head_dim,
                       intermediate=_get(data, file, "intermediate_size"), vocab=_get(data, file, "vocab_size"),
                       max_positions=_get(data, file, "max_position_embeddings", default=0),
                       gated_ffn=act in ("silu", "swish", "swiglu"), norm="rms",
                       qkv_bias=bool(data.get("attention_bias", fam == "qwen2")),
                       tie_embeddings=bool(data.get("tie_word_embeddings", False)),
                       native_dtype=dtype, source=str(file), **kw)


def _block_transformer(data, file, name) -> ModelConfig:
    lb = _get(data, file, "block_length")
    if lb < 1:
        raise ConfigError(file, "block_length", f"must be >= 1; got {lb}")
    for k in ("block_decoder", "token_decoder"):
        if not isinstance(data.get(k), Mapping):
            raise ConfigError(file, k, "required: a llama-style decoder config object")
    blk = parse_config(data["block_decoder"], file=f"{file}#block_decoder", name=f"{name}.block_decoder")
    tok = parse_config(data["token_decoder"], file=f"{file}#token_decoder", name=f"{name}.token_decoder")
    return attrs.evolve(blk, name=name, family="block_transformer", block_length=lb, token_decoder=tok,
                        vocab=_get(data, file, "vocab_size", default=blk.vocab), source=str(file))


def load_config(path) -> ModelConfig:
    """Read a config.json file."""
    p = Path(path)
    text = read_text(p)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(p, f"line {exc.lineno}", f"invalid JSON: {exc.msg}") from None
    return parse_config(data, file=p, name=p.stem)
