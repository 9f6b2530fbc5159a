"""Recipes for `Mesh.build_vector`, one per method of vector-service (the `oneof recipe` of BuildVectorRequest).
Each returns the recipe message; unset arguments keep the service's defaults (docs/vector-service.md)."""
from __future__ import annotations

from typing import Iterable, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from steering_mesh.proto import common_pb2 as c
from steering_mesh.proto import vector_service_pb2 as v
from steering_mesh.tensors import DTypeLike, to_tensor

Features = Union[Mapping[int, float], Iterable[int]]
POSITIONS = {"all": c.ALL, "prompt_front": c.PROMPT_FRONT, "from_index": c.FROM_INDEX, "prompt_only": c.PROMPT_ONLY,
             "generated_only": c.GENERATED_ONLY}


def _weighted(features: Features) -> list:
    items = features.items() if isinstance(features, Mapping) else ((f, 1.0) for f in features)
    return [v.WeightedFeature(feature=int(f), weight=float(w)) for f, w in items]


def _set(message, **optional):
    for name, value in optional.items():
        if value is not None:
            setattr(message, name, value)
    return message


def actadd(hook: str, positive: str, negative: str = "", *, coefficient: Optional[float] = None,
           pad_token_id: Optional[int] = None, add_bos: Optional[bool] = None) -> v.ActAddRecipe:
    """ActAdd (Turner et al. 2023): per-position difference of a prompt pair, applied to the prompt's front."""
    return _set(v.ActAddRecipe(hook=c.HookPoint(name=hook), positive=positive, negative=negative),
                coefficient=coefficient, pad_token_id=pad_token_id, add_bos=add_bos)


def caa(hook: str, items: Sequence[Tuple[str, str, str]] = (), *, dataset: str = "", max_items: int = 0,
        prompt_template: str = "", instruction_end_marker: str = "", read_position: Optional[int] = None,
        add_bos: Optional[bool] = None, multiplier: Optional[float] = None) -> v.CaaRecipe:
    """CAA (Rimsky et al. 2023) on A/B items (question, matching answer, other answer) and/or a dataset file of
    the service, e.g. "anthropic-evals-advanced-ai-risk/human_generated_evals/survival-instinct.jsonl"."""
    ab = [v.AbItem(question=q, answer_matching_behavior=m, answer_not_matching_behavior=n) for q, m, n in items]
    return _set(v.CaaRecipe(hook=c.HookPoint(name=hook), items=ab, dataset=dataset, max_items=max_items,
                            prompt_template=prompt_template, instruction_end_marker=instruction_end_marker),
                read_position=read_position, add_bos=add_bos, multiplier=multiplier)


def caa_mean(hook: str, positive: Sequence[str], negative: Sequence[str], *, include_bos: Optional[bool] = None,
             normalize: Optional[bool] = None) -> v.CaaMeanRecipe:
    """CAA as the SAE-TS / FGAA papers' baseline: mean(positive sentences) - mean(negative), unit norm."""
    return _set(v.CaaMeanRecipe(hook=c.HookPoint(name=hook), positive=list(positive), negative=list(negative)),
                include_bos=include_bos, normalize=normalize)


def sae_decoder(sae_id: str, features: Features, *, normalize_rows: bool = False) -> v.SaeDecoderRecipe:
    """SAE decoder steering: sum of W_dec rows ({feature: weight}, or features with weight 1), unit norm."""
    return v.SaeDecoderRecipe(sae_id=sae_id, features=_weighted(features), normalize_rows=normalize_rows)


def sae_ts(approximator_id: str, targets: Features, *, bias_scale: Optional[float] = None) -> v.SaeTsRecipe:
    """SAE-TS (Chalnev et al. 2024): the direction whose predicted effect is the target features."""
    return _set(v.SaeTsRecipe(approximator_id=approximator_id, targets=_weighted(targets)), bias_scale=bias_scale)


def fgaa(approximator_id: str, positive: Sequence[str], negative: Sequence[str], *, sae_id: str = "",
         max_density: Optional[float] = None, remove_bos_features: Optional[bool] = None,
         exclude_features: Sequence[int] = (), n_pos: Optional[int] = None, n_neg: Optional[int] = None,
         include_bos: Optional[bool] = None, bias_scale: Optional[float] = None) -> v.FgaaRecipe:
    """FGAA (Soo et al. 2025): SAE-space contrast of example sentences, filtered, through the approximator."""
    return _set(v.FgaaRecipe(approximator_id=approximator_id, sae_id=sae_id, positive=list(positive),
                             negative=list(negative), exclude_features=list(exclude_features)),
                max_density=max_density, remove_bos_features=remove_bos_features, n_pos=n_pos, n_neg=n_neg,
                include_bos=include_bos, bias_scale=bias_scale)


def raw(hook: str, vector: np.ndarray, *, positions: str = "all", from_index: int = 0, position_marker: str = "",
        default_scale: Optional[float] = None, dtype: DTypeLike = None) -> v.RawVectorRecipe:
    """A vector of your own: [d_model] (or [n, d_model] with positions="prompt_front")."""
    return _set(v.RawVectorRecipe(hook=c.HookPoint(name=hook), vector=to_tensor(vector, dtype),
                                  positions=POSITIONS[positions], from_index=from_index,
                                  position_marker=position_marker), default_scale=default_scale)


def from_file(data: bytes, *, format: str = "", gguf_layer: Optional[int] = None,
              hook: str = "") -> v.ImportFileRecipe:
    """A vector file: ExportVector's safetensors or a llama.cpp / repeng control-vector GGUF ("safetensors",
    "gguf"; default: detected from the bytes)."""
    fmt = v.VectorFileFormat.Value("VECTOR_FILE_FORMAT_" + format.upper()) if format else 0
    recipe = v.ImportFileRecipe(data=bytes(data), format=fmt)
    if hook:
        recipe.hook.name = hook
    return _set(recipe, gguf_layer=gguf_layer)


FIELDS = {v.ActAddRecipe: "actadd", v.CaaRecipe: "caa", v.CaaMeanRecipe: "caa_mean",
          v.SaeDecoderRecipe: "sae_decoder", v.SaeTsRecipe: "sae_ts", v.FgaaRecipe: "fgaa",
          v.RawVectorRecipe: "raw", v.ImportFileRecipe: "file"}


def request(recipe, *, vector_id: str = "", save: bool = True, overwrite: bool = False, description: str = "",
            labels: Optional[Mapping[str, str]] = None) -> v.BuildVectorRequest:
    """The BuildVectorRequest for a recipe of this module."""
    field = FIELDS.get(type(recipe))
    if field is None:
        raise TypeError(f"not a recipe: {type(recipe).__name__} (use steering_mesh.recipes.*)")
    req = v.BuildVectorRequest(vector_id=vector_id, save=save, overwrite=overwrite, description=description,
                               labels=dict(labels or {}))
    getattr(req, field).CopyFrom(recipe)
    return req
