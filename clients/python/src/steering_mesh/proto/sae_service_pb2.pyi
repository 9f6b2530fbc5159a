import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from steering_mesh.proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SaeArchitecture(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAE_ARCHITECTURE_UNSPECIFIED: _ClassVar[SaeArchitecture]
    SAE_ARCHITECTURE_STANDARD: _ClassVar[SaeArchitecture]
    SAE_ARCHITECTURE_JUMPRELU: _ClassVar[SaeArchitecture]
    SAE_ARCHITECTURE_TOPK: _ClassVar[SaeArchitecture]
    SAE_ARCHITECTURE_BATCHTOPK: _ClassVar[SaeArchitecture]

class SaeSourceFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAE_SOURCE_FORMAT_UNSPECIFIED: _ClassVar[SaeSourceFormat]
    SAE_SOURCE_FORMAT_SAELENS: _ClassVar[SaeSourceFormat]
    SAE_SOURCE_FORMAT_GEMMA_SCOPE: _ClassVar[SaeSourceFormat]
    SAE_SOURCE_FORMAT_SPARSIFY: _ClassVar[SaeSourceFormat]

class FeatureReduction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FEATURE_REDUCTION_UNSPECIFIED: _ClassVar[FeatureReduction]
    FEATURE_REDUCTION_PER_TOKEN: _ClassVar[FeatureReduction]
    FEATURE_REDUCTION_MEAN: _ClassVar[FeatureReduction]
    FEATURE_REDUCTION_MAX: _ClassVar[FeatureReduction]
SAE_ARCHITECTURE_UNSPECIFIED: SaeArchitecture
SAE_ARCHITECTURE_STANDARD: SaeArchitecture
SAE_ARCHITECTURE_JUMPRELU: SaeArchitecture
SAE_ARCHITECTURE_TOPK: SaeArchitecture
SAE_ARCHITECTURE_BATCHTOPK: SaeArchitecture
SAE_SOURCE_FORMAT_UNSPECIFIED: SaeSourceFormat
SAE_SOURCE_FORMAT_SAELENS: SaeSourceFormat
SAE_SOURCE_FORMAT_GEMMA_SCOPE: SaeSourceFormat
SAE_SOURCE_FORMAT_SPARSIFY: SaeSourceFormat
FEATURE_REDUCTION_UNSPECIFIED: FeatureReduction
FEATURE_REDUCTION_PER_TOKEN: FeatureReduction
FEATURE_REDUCTION_MEAN: FeatureReduction
FEATURE_REDUCTION_MAX: FeatureReduction

class SaeTrainingMetrics(_message.Message):
    __slots__ = ("variance_explained", "l0", "dead_fraction", "clean_loss", "spliced_loss", "loss_increase", "mean_ablation_loss", "train_tokens", "eval_tokens", "spliced_loss_tokens", "capture_tokens_per_second", "train_tokens_per_second", "wall_seconds", "mse", "outlier_tokens", "variance_explained_all_tokens", "loss_increase_stderr")
    VARIANCE_EXPLAINED_FIELD_NUMBER: _ClassVar[int]
    L0_FIELD_NUMBER: _ClassVar[int]
    DEAD_FRACTION_FIELD_NUMBER: _ClassVar[int]
    CLEAN_LOSS_FIELD_NUMBER: _ClassVar[int]
    SPLICED_LOSS_FIELD_NUMBER: _ClassVar[int]
    LOSS_INCREASE_FIELD_NUMBER: _ClassVar[int]
    MEAN_ABLATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    TRAIN_TOKENS_FIELD_NUMBER: _ClassVar[int]
    EVAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    SPLICED_LOSS_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    TRAIN_TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MSE_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_TOKENS_FIELD_NUMBER: _ClassVar[int]
    VARIANCE_EXPLAINED_ALL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    LOSS_INCREASE_STDERR_FIELD_NUMBER: _ClassVar[int]
    variance_explained: float
    l0: float
    dead_fraction: float
    clean_loss: float
    spliced_loss: float
    loss_increase: float
    mean_ablation_loss: float
    train_tokens: int
    eval_tokens: int
    spliced_loss_tokens: int
    capture_tokens_per_second: float
    train_tokens_per_second: float
    wall_seconds: float
    mse: float
    outlier_tokens: int
    variance_explained_all_tokens: float
    loss_increase_stderr: float
    def __init__(self, variance_explained: _Optional[float] = ..., l0: _Optional[float] = ..., dead_fraction: _Optional[float] = ..., clean_loss: _Optional[float] = ..., spliced_loss: _Optional[float] = ..., loss_increase: _Optional[float] = ..., mean_ablation_loss: _Optional[float] = ..., train_tokens: _Optional[int] = ..., eval_tokens: _Optional[int] = ..., spliced_loss_tokens: _Optional[int] = ..., capture_tokens_per_second: _Optional[float] = ..., train_tokens_per_second: _Optional[float] = ..., wall_seconds: _Optional[float] = ..., mse: _Optional[float] = ..., outlier_tokens: _Optional[int] = ..., variance_explained_all_tokens: _Optional[float] = ..., loss_increase_stderr: _Optional[float] = ...) -> None: ...

class SaeInfo(_message.Message):
    __slots__ = ("id", "model_id", "hook", "d_in", "d_sae", "architecture", "k", "apply_b_dec_to_input", "normalize_activations", "source_format", "source", "created_at", "training_metrics", "has_feature_stats", "prepend_bos", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    HOOK_FIELD_NUMBER: _ClassVar[int]
    D_IN_FIELD_NUMBER: _ClassVar[int]
    D_SAE_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    APPLY_B_DEC_TO_INPUT_FIELD_NUMBER: _ClassVar[int]
    NORMALIZE_ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    TRAINING_METRICS_FIELD_NUMBER: _ClassVar[int]
    HAS_FEATURE_STATS_FIELD_NUMBER: _ClassVar[int]
    PREPEND_BOS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    model_id: str
    hook: _common_pb2.HookPoint
    d_in: int
    d_sae: int
    architecture: SaeArchitecture
    k: int
    apply_b_dec_to_input: bool
    normalize_activations: str
    source_format: SaeSourceFormat
    source: str
    created_at: _timestamp_pb2.Timestamp
    training_metrics: SaeTrainingMetrics
    has_feature_stats: bool
    prepend_bos: bool
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., model_id: _Optional[str] = ..., hook: _Optional[_Union[_common_pb2.HookPoint, _Mapping]] = ..., d_in: _Optional[int] = ..., d_sae: _Optional[int] = ..., architecture: _Optional[_Union[SaeArchitecture, str]] = ..., k: _Optional[int] = ..., apply_b_dec_to_input: _Optional[bool] = ..., normalize_activations: _Optional[str] = ..., source_format: _Optional[_Union[SaeSourceFormat, str]] = ..., source: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., training_metrics: _Optional[_Union[SaeTrainingMetrics, _Mapping]] = ..., has_feature_stats: _Optional[bool] = ..., prepend_bos: _Optional[bool] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListSaesRequest(_message.Message):
    __slots__ = ("model_id", "hook")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    HOOK_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    hook: str
    def __init__(self, model_id: _Optional[str] = ..., hook: _Optional[str] = ...) -> None: ...

class ListSaesResponse(_message.Message):
    __slots__ = ("saes",)
    SAES_FIELD_NUMBER: _ClassVar[int]
    saes: _containers.RepeatedCompositeFieldContainer[SaeInfo]
    def __init__(self, saes: _Optional[_Iterable[_Union[SaeInfo, _Mapping]]] = ...) -> None: ...

class GetSaeInfoRequest(_message.Message):
    __slots__ = ("sae_id",)
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    def __init__(self, sae_id: _Optional[str] = ...) -> None: ...

class ImportSaeRequest(_message.Message):
    __slots__ = ("path", "sae_id", "model_id", "hook", "format", "overwrite")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    HOOK_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    path: str
    sae_id: str
    model_id: str
    hook: _common_pb2.HookPoint
    format: SaeSourceFormat
    overwrite: bool
    def __init__(self, path: _Optional[str] = ..., sae_id: _Optional[str] = ..., model_id: _Optional[str] = ..., hook: _Optional[_Union[_common_pb2.HookPoint, _Mapping]] = ..., format: _Optional[_Union[SaeSourceFormat, str]] = ..., overwrite: _Optional[bool] = ...) -> None: ...

class DeleteSaeRequest(_message.Message):
    __slots__ = ("sae_id",)
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    def __init__(self, sae_id: _Optional[str] = ...) -> None: ...

class DeleteSaeResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SaeInput(_message.Message):
    __slots__ = ("activations", "texts")
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    activations: _common_pb2.Tensor
    texts: TextInputs
    def __init__(self, activations: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., texts: _Optional[_Union[TextInputs, _Mapping]] = ...) -> None: ...

class TextInputs(_message.Message):
    __slots__ = ("prompts", "include_bos")
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BOS_FIELD_NUMBER: _ClassVar[int]
    prompts: _containers.RepeatedCompositeFieldContainer[_common_pb2.Prompt]
    include_bos: bool
    def __init__(self, prompts: _Optional[_Iterable[_Union[_common_pb2.Prompt, _Mapping]]] = ..., include_bos: _Optional[bool] = ...) -> None: ...

class SparseFeatures(_message.Message):
    __slots__ = ("offsets", "indices", "values")
    OFFSETS_FIELD_NUMBER: _ClassVar[int]
    INDICES_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    offsets: _containers.RepeatedScalarFieldContainer[int]
    indices: _containers.RepeatedScalarFieldContainer[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, offsets: _Optional[_Iterable[int]] = ..., indices: _Optional[_Iterable[int]] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class EncodeRequest(_message.Message):
    __slots__ = ("sae_id", "input", "reduction", "top_k")
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    REDUCTION_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    input: SaeInput
    reduction: FeatureReduction
    top_k: int
    def __init__(self, sae_id: _Optional[str] = ..., input: _Optional[_Union[SaeInput, _Mapping]] = ..., reduction: _Optional[_Union[FeatureReduction, str]] = ..., top_k: _Optional[int] = ...) -> None: ...

class EncodeResponse(_message.Message):
    __slots__ = ("features", "sparse", "texts", "rows")
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    SPARSE_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    features: _common_pb2.Tensor
    sparse: SparseFeatures
    texts: _containers.RepeatedCompositeFieldContainer[EncodedText]
    rows: int
    def __init__(self, features: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., sparse: _Optional[_Union[SparseFeatures, _Mapping]] = ..., texts: _Optional[_Iterable[_Union[EncodedText, _Mapping]]] = ..., rows: _Optional[int] = ...) -> None: ...

class EncodedText(_message.Message):
    __slots__ = ("first_row", "row_count", "token_ids", "positions")
    FIRST_ROW_FIELD_NUMBER: _ClassVar[int]
    ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    first_row: int
    row_count: int
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    positions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, first_row: _Optional[int] = ..., row_count: _Optional[int] = ..., token_ids: _Optional[_Iterable[int]] = ..., positions: _Optional[_Iterable[int]] = ...) -> None: ...

class DecodeRequest(_message.Message):
    __slots__ = ("sae_id", "dense", "sparse")
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    DENSE_FIELD_NUMBER: _ClassVar[int]
    SPARSE_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    dense: _common_pb2.Tensor
    sparse: SparseFeatures
    def __init__(self, sae_id: _Optional[str] = ..., dense: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., sparse: _Optional[_Union[SparseFeatures, _Mapping]] = ...) -> None: ...

class DecodeResponse(_message.Message):
    __slots__ = ("reconstruction",)
    RECONSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    reconstruction: _common_pb2.Tensor
    def __init__(self, reconstruction: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...

class ReconstructRequest(_message.Message):
    __slots__ = ("sae_id", "input", "return_reconstruction")
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    RETURN_RECONSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    input: SaeInput
    return_reconstruction: bool
    def __init__(self, sae_id: _Optional[str] = ..., input: _Optional[_Union[SaeInput, _Mapping]] = ..., return_reconstruction: _Optional[bool] = ...) -> None: ...

class ReconstructResponse(_message.Message):
    __slots__ = ("reconstruction", "variance_explained", "mse", "l0", "mean_cosine", "rows")
    RECONSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    VARIANCE_EXPLAINED_FIELD_NUMBER: _ClassVar[int]
    MSE_FIELD_NUMBER: _ClassVar[int]
    L0_FIELD_NUMBER: _ClassVar[int]
    MEAN_COSINE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    reconstruction: _common_pb2.Tensor
    variance_explained: float
    mse: float
    l0: float
    mean_cosine: float
    rows: int
    def __init__(self, reconstruction: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., variance_explained: _Optional[float] = ..., mse: _Optional[float] = ..., l0: _Optional[float] = ..., mean_cosine: _Optional[float] = ..., rows: _Optional[int] = ...) -> None: ...

class FeatureDirectionsRequest(_message.Message):
    __slots__ = ("sae_id", "features", "normalize", "sae_features")
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    NORMALIZE_FIELD_NUMBER: _ClassVar[int]
    SAE_FEATURES_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    features: _containers.RepeatedScalarFieldContainer[int]
    normalize: bool
    sae_features: bool
    def __init__(self, sae_id: _Optional[str] = ..., features: _Optional[_Iterable[int]] = ..., normalize: _Optional[bool] = ..., sae_features: _Optional[bool] = ...) -> None: ...

class FeatureDirectionsResponse(_message.Message):
    __slots__ = ("directions", "features", "norms", "sae_features")
    DIRECTIONS_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    NORMS_FIELD_NUMBER: _ClassVar[int]
    SAE_FEATURES_FIELD_NUMBER: _ClassVar[int]
    directions: _common_pb2.Tensor
    features: _containers.RepeatedScalarFieldContainer[int]
    norms: _containers.RepeatedScalarFieldContainer[float]
    sae_features: _containers.RepeatedCompositeFieldContainer[_common_pb2.SaeFeature]
    def __init__(self, directions: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., features: _Optional[_Iterable[int]] = ..., norms: _Optional[_Iterable[float]] = ..., sae_features: _Optional[_Iterable[_Union[_common_pb2.SaeFeature, _Mapping]]] = ...) -> None: ...

class CorpusSource(_message.Message):
    __slots__ = ("dataset", "path", "texts", "generated", "max_documents")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    GENERATED_FIELD_NUMBER: _ClassVar[int]
    MAX_DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    path: str
    texts: TextList
    generated: GeneratedText
    max_documents: int
    def __init__(self, dataset: _Optional[str] = ..., path: _Optional[str] = ..., texts: _Optional[_Union[TextList, _Mapping]] = ..., generated: _Optional[_Union[GeneratedText, _Mapping]] = ..., max_documents: _Optional[int] = ...) -> None: ...

class TextList(_message.Message):
    __slots__ = ("texts",)
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ...) -> None: ...

class GeneratedText(_message.Message):
    __slots__ = ("prompts", "samples_per_prompt", "max_tokens", "temperature", "seed")
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_PER_PROMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    prompts: _containers.RepeatedScalarFieldContainer[str]
    samples_per_prompt: int
    max_tokens: int
    temperature: float
    seed: int
    def __init__(self, prompts: _Optional[_Iterable[str]] = ..., samples_per_prompt: _Optional[int] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class TopContext(_message.Message):
    __slots__ = ("document", "position", "activation", "text", "token")
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    document: int
    position: int
    activation: float
    text: str
    token: str
    def __init__(self, document: _Optional[int] = ..., position: _Optional[int] = ..., activation: _Optional[float] = ..., text: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...

class FeatureStat(_message.Message):
    __slots__ = ("feature", "density", "mean_activation", "mean_active_activation", "max_activation", "bos_activation", "top_contexts", "decoder_norm")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    DENSITY_FIELD_NUMBER: _ClassVar[int]
    MEAN_ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    MEAN_ACTIVE_ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    MAX_ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    BOS_ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    TOP_CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    DECODER_NORM_FIELD_NUMBER: _ClassVar[int]
    feature: int
    density: float
    mean_activation: float
    mean_active_activation: float
    max_activation: float
    bos_activation: float
    top_contexts: _containers.RepeatedCompositeFieldContainer[TopContext]
    decoder_norm: float
    def __init__(self, feature: _Optional[int] = ..., density: _Optional[float] = ..., mean_activation: _Optional[float] = ..., mean_active_activation: _Optional[float] = ..., max_activation: _Optional[float] = ..., bos_activation: _Optional[float] = ..., top_contexts: _Optional[_Iterable[_Union[TopContext, _Mapping]]] = ..., decoder_norm: _Optional[float] = ...) -> None: ...

class FeatureStatsRequest(_message.Message):
    __slots__ = ("sae_id", "features", "top_contexts")
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    TOP_CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    features: _containers.RepeatedScalarFieldContainer[int]
    top_contexts: int
    def __init__(self, sae_id: _Optional[str] = ..., features: _Optional[_Iterable[int]] = ..., top_contexts: _Optional[int] = ...) -> None: ...

class FeatureStatsResponse(_message.Message):
    __slots__ = ("features", "bos_features", "tokens", "corpus", "computed_at", "density", "mean_activation")
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    BOS_FEATURES_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    CORPUS_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    DENSITY_FIELD_NUMBER: _ClassVar[int]
    MEAN_ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    features: _containers.RepeatedCompositeFieldContainer[FeatureStat]
    bos_features: _containers.RepeatedScalarFieldContainer[int]
    tokens: int
    corpus: str
    computed_at: _timestamp_pb2.Timestamp
    density: _common_pb2.Tensor
    mean_activation: _common_pb2.Tensor
    def __init__(self, features: _Optional[_Iterable[_Union[FeatureStat, _Mapping]]] = ..., bos_features: _Optional[_Iterable[int]] = ..., tokens: _Optional[int] = ..., corpus: _Optional[str] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., density: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., mean_activation: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ...) -> None: ...

class ComputeFeatureStatsRequest(_message.Message):
    __slots__ = ("sae_id", "corpus", "context_size", "max_tokens", "top_contexts")
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    CORPUS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOP_CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    corpus: _containers.RepeatedCompositeFieldContainer[CorpusSource]
    context_size: int
    max_tokens: int
    top_contexts: int
    def __init__(self, sae_id: _Optional[str] = ..., corpus: _Optional[_Iterable[_Union[CorpusSource, _Mapping]]] = ..., context_size: _Optional[int] = ..., max_tokens: _Optional[int] = ..., top_contexts: _Optional[int] = ...) -> None: ...

class FeatureStatsSummary(_message.Message):
    __slots__ = ("sae_id", "tokens", "dead_fraction", "l0", "bos_features")
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    DEAD_FRACTION_FIELD_NUMBER: _ClassVar[int]
    L0_FIELD_NUMBER: _ClassVar[int]
    BOS_FEATURES_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    tokens: int
    dead_fraction: float
    l0: float
    bos_features: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, sae_id: _Optional[str] = ..., tokens: _Optional[int] = ..., dead_fraction: _Optional[float] = ..., l0: _Optional[float] = ..., bos_features: _Optional[_Iterable[int]] = ...) -> None: ...

class SearchFeaturesRequest(_message.Message):
    __slots__ = ("sae_id", "prompt", "top_k", "reduction", "max_density", "top_contexts", "exclude_bos_features")
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    REDUCTION_FIELD_NUMBER: _ClassVar[int]
    MAX_DENSITY_FIELD_NUMBER: _ClassVar[int]
    TOP_CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_BOS_FEATURES_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    prompt: _common_pb2.Prompt
    top_k: int
    reduction: FeatureReduction
    max_density: float
    top_contexts: int
    exclude_bos_features: bool
    def __init__(self, sae_id: _Optional[str] = ..., prompt: _Optional[_Union[_common_pb2.Prompt, _Mapping]] = ..., top_k: _Optional[int] = ..., reduction: _Optional[_Union[FeatureReduction, str]] = ..., max_density: _Optional[float] = ..., top_contexts: _Optional[int] = ..., exclude_bos_features: _Optional[bool] = ...) -> None: ...

class SearchFeatureHit(_message.Message):
    __slots__ = ("feature", "activation", "max_position", "max_token", "stat")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    MAX_POSITION_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STAT_FIELD_NUMBER: _ClassVar[int]
    feature: int
    activation: float
    max_position: int
    max_token: str
    stat: FeatureStat
    def __init__(self, feature: _Optional[int] = ..., activation: _Optional[float] = ..., max_position: _Optional[int] = ..., max_token: _Optional[str] = ..., stat: _Optional[_Union[FeatureStat, _Mapping]] = ...) -> None: ...

class SearchFeaturesResponse(_message.Message):
    __slots__ = ("hits", "token_ids", "tokens", "has_feature_stats")
    HITS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    HAS_FEATURE_STATS_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchFeatureHit]
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    tokens: _containers.RepeatedScalarFieldContainer[str]
    has_feature_stats: bool
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchFeatureHit, _Mapping]]] = ..., token_ids: _Optional[_Iterable[int]] = ..., tokens: _Optional[_Iterable[str]] = ..., has_feature_stats: _Optional[bool] = ...) -> None: ...

class TrainSaeRequest(_message.Message):
    __slots__ = ("sae_id", "hook", "corpus", "architecture", "d_sae", "expansion_factor", "k", "l1_coefficient", "learning_rate", "batch_size", "epochs", "steps", "context_size", "max_tokens", "eval_fraction", "spliced_loss_windows", "top_contexts", "seed", "overwrite", "prepend_bos", "max_norm_ratio")
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    HOOK_FIELD_NUMBER: _ClassVar[int]
    CORPUS_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    D_SAE_FIELD_NUMBER: _ClassVar[int]
    EXPANSION_FACTOR_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    L1_COEFFICIENT_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    EVAL_FRACTION_FIELD_NUMBER: _ClassVar[int]
    SPLICED_LOSS_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    TOP_CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    PREPEND_BOS_FIELD_NUMBER: _ClassVar[int]
    MAX_NORM_RATIO_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    hook: _common_pb2.HookPoint
    corpus: _containers.RepeatedCompositeFieldContainer[CorpusSource]
    architecture: SaeArchitecture
    d_sae: int
    expansion_factor: int
    k: int
    l1_coefficient: float
    learning_rate: float
    batch_size: int
    epochs: int
    steps: int
    context_size: int
    max_tokens: int
    eval_fraction: float
    spliced_loss_windows: int
    top_contexts: int
    seed: int
    overwrite: bool
    prepend_bos: bool
    max_norm_ratio: float
    def __init__(self, sae_id: _Optional[str] = ..., hook: _Optional[_Union[_common_pb2.HookPoint, _Mapping]] = ..., corpus: _Optional[_Iterable[_Union[CorpusSource, _Mapping]]] = ..., architecture: _Optional[_Union[SaeArchitecture, str]] = ..., d_sae: _Optional[int] = ..., expansion_factor: _Optional[int] = ..., k: _Optional[int] = ..., l1_coefficient: _Optional[float] = ..., learning_rate: _Optional[float] = ..., batch_size: _Optional[int] = ..., epochs: _Optional[int] = ..., steps: _Optional[int] = ..., context_size: _Optional[int] = ..., max_tokens: _Optional[int] = ..., eval_fraction: _Optional[float] = ..., spliced_loss_windows: _Optional[int] = ..., top_contexts: _Optional[int] = ..., seed: _Optional[int] = ..., overwrite: _Optional[bool] = ..., prepend_bos: _Optional[bool] = ..., max_norm_ratio: _Optional[float] = ...) -> None: ...

class EvaluateSaeRequest(_message.Message):
    __slots__ = ("sae_id", "corpus", "context_size", "max_tokens", "spliced_loss_windows", "positions_per_window", "max_norm_ratio", "seed")
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    CORPUS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    SPLICED_LOSS_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_PER_WINDOW_FIELD_NUMBER: _ClassVar[int]
    MAX_NORM_RATIO_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    corpus: _containers.RepeatedCompositeFieldContainer[CorpusSource]
    context_size: int
    max_tokens: int
    spliced_loss_windows: int
    positions_per_window: int
    max_norm_ratio: float
    seed: int
    def __init__(self, sae_id: _Optional[str] = ..., corpus: _Optional[_Iterable[_Union[CorpusSource, _Mapping]]] = ..., context_size: _Optional[int] = ..., max_tokens: _Optional[int] = ..., spliced_loss_windows: _Optional[int] = ..., positions_per_window: _Optional[int] = ..., max_norm_ratio: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class TrainSaeResult(_message.Message):
    __slots__ = ("sae", "metrics")
    SAE_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    sae: SaeInfo
    metrics: SaeTrainingMetrics
    def __init__(self, sae: _Optional[_Union[SaeInfo, _Mapping]] = ..., metrics: _Optional[_Union[SaeTrainingMetrics, _Mapping]] = ...) -> None: ...
