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

class VectorMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VECTOR_METHOD_UNSPECIFIED: _ClassVar[VectorMethod]
    VECTOR_METHOD_ACTADD: _ClassVar[VectorMethod]
    VECTOR_METHOD_CAA: _ClassVar[VectorMethod]
    VECTOR_METHOD_CAA_MEAN: _ClassVar[VectorMethod]
    VECTOR_METHOD_SAE_DECODER: _ClassVar[VectorMethod]
    VECTOR_METHOD_SAE_TS: _ClassVar[VectorMethod]
    VECTOR_METHOD_FGAA: _ClassVar[VectorMethod]
    VECTOR_METHOD_IMPORTED: _ClassVar[VectorMethod]
    VECTOR_METHOD_TRAINED: _ClassVar[VectorMethod]

class TrainingObjective(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRAINING_OBJECTIVE_UNSPECIFIED: _ClassVar[TrainingObjective]
    TRAINING_OBJECTIVE_BIPO: _ClassVar[TrainingObjective]
    TRAINING_OBJECTIVE_REPS_NEGATED_FACTOR: _ClassVar[TrainingObjective]

class VectorFileFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VECTOR_FILE_FORMAT_UNSPECIFIED: _ClassVar[VectorFileFormat]
    VECTOR_FILE_FORMAT_SAFETENSORS: _ClassVar[VectorFileFormat]
    VECTOR_FILE_FORMAT_GGUF: _ClassVar[VectorFileFormat]
VECTOR_METHOD_UNSPECIFIED: VectorMethod
VECTOR_METHOD_ACTADD: VectorMethod
VECTOR_METHOD_CAA: VectorMethod
VECTOR_METHOD_CAA_MEAN: VectorMethod
VECTOR_METHOD_SAE_DECODER: VectorMethod
VECTOR_METHOD_SAE_TS: VectorMethod
VECTOR_METHOD_FGAA: VectorMethod
VECTOR_METHOD_IMPORTED: VectorMethod
VECTOR_METHOD_TRAINED: VectorMethod
TRAINING_OBJECTIVE_UNSPECIFIED: TrainingObjective
TRAINING_OBJECTIVE_BIPO: TrainingObjective
TRAINING_OBJECTIVE_REPS_NEGATED_FACTOR: TrainingObjective
VECTOR_FILE_FORMAT_UNSPECIFIED: VectorFileFormat
VECTOR_FILE_FORMAT_SAFETENSORS: VectorFileFormat
VECTOR_FILE_FORMAT_GGUF: VectorFileFormat

class PreferencePair(_message.Message):
    __slots__ = ("prompt", "positive", "negative")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    prompt: str
    positive: str
    negative: str
    def __init__(self, prompt: _Optional[str] = ..., positive: _Optional[str] = ..., negative: _Optional[str] = ...) -> None: ...

class SentencePairs(_message.Message):
    __slots__ = ("positive", "negative", "prompts")
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    positive: _containers.RepeatedScalarFieldContainer[str]
    negative: _containers.RepeatedScalarFieldContainer[str]
    prompts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, positive: _Optional[_Iterable[str]] = ..., negative: _Optional[_Iterable[str]] = ..., prompts: _Optional[_Iterable[str]] = ...) -> None: ...

class TrainedRecipe(_message.Message):
    __slots__ = ("hook", "objective", "pairs", "sentences", "dataset", "max_items", "prompt_template", "positions", "beta", "steps", "learning_rate", "batch_size", "max_norm", "seed", "held_out_fraction", "eval_every", "patience", "factors")
    HOOK_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    SENTENCES_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    BETA_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_NORM_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    HELD_OUT_FRACTION_FIELD_NUMBER: _ClassVar[int]
    EVAL_EVERY_FIELD_NUMBER: _ClassVar[int]
    PATIENCE_FIELD_NUMBER: _ClassVar[int]
    FACTORS_FIELD_NUMBER: _ClassVar[int]
    hook: _common_pb2.HookPoint
    objective: TrainingObjective
    pairs: _containers.RepeatedCompositeFieldContainer[PreferencePair]
    sentences: SentencePairs
    dataset: str
    max_items: int
    prompt_template: str
    positions: _common_pb2.PositionPolicy
    beta: float
    steps: int
    learning_rate: float
    batch_size: int
    max_norm: float
    seed: int
    held_out_fraction: float
    eval_every: int
    patience: int
    factors: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, hook: _Optional[_Union[_common_pb2.HookPoint, _Mapping]] = ..., objective: _Optional[_Union[TrainingObjective, str]] = ..., pairs: _Optional[_Iterable[_Union[PreferencePair, _Mapping]]] = ..., sentences: _Optional[_Union[SentencePairs, _Mapping]] = ..., dataset: _Optional[str] = ..., max_items: _Optional[int] = ..., prompt_template: _Optional[str] = ..., positions: _Optional[_Union[_common_pb2.PositionPolicy, str]] = ..., beta: _Optional[float] = ..., steps: _Optional[int] = ..., learning_rate: _Optional[float] = ..., batch_size: _Optional[int] = ..., max_norm: _Optional[float] = ..., seed: _Optional[int] = ..., held_out_fraction: _Optional[float] = ..., eval_every: _Optional[int] = ..., patience: _Optional[int] = ..., factors: _Optional[_Iterable[float]] = ...) -> None: ...

class TrainingReport(_message.Message):
    __slots__ = ("objective", "beta", "learning_rate", "batch_size", "steps_run", "seed", "train_pairs", "held_out_pairs", "loss", "held_out_steps", "held_out_loss", "best_step", "held_out_accuracy", "held_out_positive_gain", "wall_seconds", "early_stopped")
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    BETA_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    STEPS_RUN_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    TRAIN_PAIRS_FIELD_NUMBER: _ClassVar[int]
    HELD_OUT_PAIRS_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    HELD_OUT_STEPS_FIELD_NUMBER: _ClassVar[int]
    HELD_OUT_LOSS_FIELD_NUMBER: _ClassVar[int]
    BEST_STEP_FIELD_NUMBER: _ClassVar[int]
    HELD_OUT_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    HELD_OUT_POSITIVE_GAIN_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    EARLY_STOPPED_FIELD_NUMBER: _ClassVar[int]
    objective: TrainingObjective
    beta: float
    learning_rate: float
    batch_size: int
    steps_run: int
    seed: int
    train_pairs: int
    held_out_pairs: int
    loss: _containers.RepeatedScalarFieldContainer[float]
    held_out_steps: _containers.RepeatedScalarFieldContainer[int]
    held_out_loss: _containers.RepeatedScalarFieldContainer[float]
    best_step: int
    held_out_accuracy: float
    held_out_positive_gain: float
    wall_seconds: float
    early_stopped: bool
    def __init__(self, objective: _Optional[_Union[TrainingObjective, str]] = ..., beta: _Optional[float] = ..., learning_rate: _Optional[float] = ..., batch_size: _Optional[int] = ..., steps_run: _Optional[int] = ..., seed: _Optional[int] = ..., train_pairs: _Optional[int] = ..., held_out_pairs: _Optional[int] = ..., loss: _Optional[_Iterable[float]] = ..., held_out_steps: _Optional[_Iterable[int]] = ..., held_out_loss: _Optional[_Iterable[float]] = ..., best_step: _Optional[int] = ..., held_out_accuracy: _Optional[float] = ..., held_out_positive_gain: _Optional[float] = ..., wall_seconds: _Optional[float] = ..., early_stopped: _Optional[bool] = ...) -> None: ...

class WeightedFeature(_message.Message):
    __slots__ = ("feature", "weight")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    feature: int
    weight: float
    def __init__(self, feature: _Optional[int] = ..., weight: _Optional[float] = ...) -> None: ...

class ActAddRecipe(_message.Message):
    __slots__ = ("hook", "positive", "negative", "coefficient", "pad_token_id", "add_bos")
    HOOK_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    COEFFICIENT_FIELD_NUMBER: _ClassVar[int]
    PAD_TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    ADD_BOS_FIELD_NUMBER: _ClassVar[int]
    hook: _common_pb2.HookPoint
    positive: str
    negative: str
    coefficient: float
    pad_token_id: int
    add_bos: bool
    def __init__(self, hook: _Optional[_Union[_common_pb2.HookPoint, _Mapping]] = ..., positive: _Optional[str] = ..., negative: _Optional[str] = ..., coefficient: _Optional[float] = ..., pad_token_id: _Optional[int] = ..., add_bos: _Optional[bool] = ...) -> None: ...

class AbItem(_message.Message):
    __slots__ = ("question", "answer_matching_behavior", "answer_not_matching_behavior")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    ANSWER_MATCHING_BEHAVIOR_FIELD_NUMBER: _ClassVar[int]
    ANSWER_NOT_MATCHING_BEHAVIOR_FIELD_NUMBER: _ClassVar[int]
    question: str
    answer_matching_behavior: str
    answer_not_matching_behavior: str
    def __init__(self, question: _Optional[str] = ..., answer_matching_behavior: _Optional[str] = ..., answer_not_matching_behavior: _Optional[str] = ...) -> None: ...

class CaaRecipe(_message.Message):
    __slots__ = ("hook", "items", "dataset", "max_items", "prompt_template", "instruction_end_marker", "read_position", "add_bos", "multiplier")
    HOOK_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_END_MARKER_FIELD_NUMBER: _ClassVar[int]
    READ_POSITION_FIELD_NUMBER: _ClassVar[int]
    ADD_BOS_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    hook: _common_pb2.HookPoint
    items: _containers.RepeatedCompositeFieldContainer[AbItem]
    dataset: str
    max_items: int
    prompt_template: str
    instruction_end_marker: str
    read_position: int
    add_bos: bool
    multiplier: float
    def __init__(self, hook: _Optional[_Union[_common_pb2.HookPoint, _Mapping]] = ..., items: _Optional[_Iterable[_Union[AbItem, _Mapping]]] = ..., dataset: _Optional[str] = ..., max_items: _Optional[int] = ..., prompt_template: _Optional[str] = ..., instruction_end_marker: _Optional[str] = ..., read_position: _Optional[int] = ..., add_bos: _Optional[bool] = ..., multiplier: _Optional[float] = ...) -> None: ...

class CaaMeanRecipe(_message.Message):
    __slots__ = ("hook", "positive", "negative", "include_bos", "normalize")
    HOOK_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BOS_FIELD_NUMBER: _ClassVar[int]
    NORMALIZE_FIELD_NUMBER: _ClassVar[int]
    hook: _common_pb2.HookPoint
    positive: _containers.RepeatedScalarFieldContainer[str]
    negative: _containers.RepeatedScalarFieldContainer[str]
    include_bos: bool
    normalize: bool
    def __init__(self, hook: _Optional[_Union[_common_pb2.HookPoint, _Mapping]] = ..., positive: _Optional[_Iterable[str]] = ..., negative: _Optional[_Iterable[str]] = ..., include_bos: _Optional[bool] = ..., normalize: _Optional[bool] = ...) -> None: ...

class SaeDecoderRecipe(_message.Message):
    __slots__ = ("sae_id", "features", "normalize_rows")
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    NORMALIZE_ROWS_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    features: _containers.RepeatedCompositeFieldContainer[WeightedFeature]
    normalize_rows: bool
    def __init__(self, sae_id: _Optional[str] = ..., features: _Optional[_Iterable[_Union[WeightedFeature, _Mapping]]] = ..., normalize_rows: _Optional[bool] = ...) -> None: ...

class SaeTsRecipe(_message.Message):
    __slots__ = ("approximator_id", "targets", "bias_scale")
    APPROXIMATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    BIAS_SCALE_FIELD_NUMBER: _ClassVar[int]
    approximator_id: str
    targets: _containers.RepeatedCompositeFieldContainer[WeightedFeature]
    bias_scale: float
    def __init__(self, approximator_id: _Optional[str] = ..., targets: _Optional[_Iterable[_Union[WeightedFeature, _Mapping]]] = ..., bias_scale: _Optional[float] = ...) -> None: ...

class FgaaRecipe(_message.Message):
    __slots__ = ("approximator_id", "sae_id", "positive", "negative", "max_density", "remove_bos_features", "exclude_features", "n_pos", "n_neg", "include_bos", "bias_scale")
    APPROXIMATOR_ID_FIELD_NUMBER: _ClassVar[int]
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    MAX_DENSITY_FIELD_NUMBER: _ClassVar[int]
    REMOVE_BOS_FEATURES_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FEATURES_FIELD_NUMBER: _ClassVar[int]
    N_POS_FIELD_NUMBER: _ClassVar[int]
    N_NEG_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BOS_FIELD_NUMBER: _ClassVar[int]
    BIAS_SCALE_FIELD_NUMBER: _ClassVar[int]
    approximator_id: str
    sae_id: str
    positive: _containers.RepeatedScalarFieldContainer[str]
    negative: _containers.RepeatedScalarFieldContainer[str]
    max_density: float
    remove_bos_features: bool
    exclude_features: _containers.RepeatedScalarFieldContainer[int]
    n_pos: int
    n_neg: int
    include_bos: bool
    bias_scale: float
    def __init__(self, approximator_id: _Optional[str] = ..., sae_id: _Optional[str] = ..., positive: _Optional[_Iterable[str]] = ..., negative: _Optional[_Iterable[str]] = ..., max_density: _Optional[float] = ..., remove_bos_features: _Optional[bool] = ..., exclude_features: _Optional[_Iterable[int]] = ..., n_pos: _Optional[int] = ..., n_neg: _Optional[int] = ..., include_bos: _Optional[bool] = ..., bias_scale: _Optional[float] = ...) -> None: ...

class RawVectorRecipe(_message.Message):
    __slots__ = ("hook", "vector", "positions", "from_index", "position_marker", "default_scale")
    HOOK_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    FROM_INDEX_FIELD_NUMBER: _ClassVar[int]
    POSITION_MARKER_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_SCALE_FIELD_NUMBER: _ClassVar[int]
    hook: _common_pb2.HookPoint
    vector: _common_pb2.Tensor
    positions: _common_pb2.PositionPolicy
    from_index: int
    position_marker: str
    default_scale: float
    def __init__(self, hook: _Optional[_Union[_common_pb2.HookPoint, _Mapping]] = ..., vector: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., positions: _Optional[_Union[_common_pb2.PositionPolicy, str]] = ..., from_index: _Optional[int] = ..., position_marker: _Optional[str] = ..., default_scale: _Optional[float] = ...) -> None: ...

class ImportFileRecipe(_message.Message):
    __slots__ = ("data", "format", "gguf_layer", "hook")
    DATA_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    GGUF_LAYER_FIELD_NUMBER: _ClassVar[int]
    HOOK_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    format: VectorFileFormat
    gguf_layer: int
    hook: _common_pb2.HookPoint
    def __init__(self, data: _Optional[bytes] = ..., format: _Optional[_Union[VectorFileFormat, str]] = ..., gguf_layer: _Optional[int] = ..., hook: _Optional[_Union[_common_pb2.HookPoint, _Mapping]] = ...) -> None: ...

class BuildVectorRequest(_message.Message):
    __slots__ = ("vector_id", "actadd", "caa", "caa_mean", "sae_decoder", "sae_ts", "fgaa", "raw", "file", "trained", "save", "overwrite", "description", "labels", "kind", "value", "positions")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    ACTADD_FIELD_NUMBER: _ClassVar[int]
    CAA_FIELD_NUMBER: _ClassVar[int]
    CAA_MEAN_FIELD_NUMBER: _ClassVar[int]
    SAE_DECODER_FIELD_NUMBER: _ClassVar[int]
    SAE_TS_FIELD_NUMBER: _ClassVar[int]
    FGAA_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    TRAINED_FIELD_NUMBER: _ClassVar[int]
    SAVE_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    vector_id: str
    actadd: ActAddRecipe
    caa: CaaRecipe
    caa_mean: CaaMeanRecipe
    sae_decoder: SaeDecoderRecipe
    sae_ts: SaeTsRecipe
    fgaa: FgaaRecipe
    raw: RawVectorRecipe
    file: ImportFileRecipe
    trained: TrainedRecipe
    save: bool
    overwrite: bool
    description: str
    labels: _containers.ScalarMap[str, str]
    kind: _common_pb2.InterventionKind
    value: float
    positions: _common_pb2.PositionPolicy
    def __init__(self, vector_id: _Optional[str] = ..., actadd: _Optional[_Union[ActAddRecipe, _Mapping]] = ..., caa: _Optional[_Union[CaaRecipe, _Mapping]] = ..., caa_mean: _Optional[_Union[CaaMeanRecipe, _Mapping]] = ..., sae_decoder: _Optional[_Union[SaeDecoderRecipe, _Mapping]] = ..., sae_ts: _Optional[_Union[SaeTsRecipe, _Mapping]] = ..., fgaa: _Optional[_Union[FgaaRecipe, _Mapping]] = ..., raw: _Optional[_Union[RawVectorRecipe, _Mapping]] = ..., file: _Optional[_Union[ImportFileRecipe, _Mapping]] = ..., trained: _Optional[_Union[TrainedRecipe, _Mapping]] = ..., save: _Optional[bool] = ..., overwrite: _Optional[bool] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., kind: _Optional[_Union[_common_pb2.InterventionKind, str]] = ..., value: _Optional[float] = ..., positions: _Optional[_Union[_common_pb2.PositionPolicy, str]] = ...) -> None: ...

class BuildVectorResponse(_message.Message):
    __slots__ = ("vector",)
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    vector: SteeringVector
    def __init__(self, vector: _Optional[_Union[SteeringVector, _Mapping]] = ...) -> None: ...

class VectorCalibrationPoint(_message.Message):
    __slots__ = ("scale", "behaviour", "coherence", "score", "raw_behaviour", "steered_logprob", "distinct_fraction")
    SCALE_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOUR_FIELD_NUMBER: _ClassVar[int]
    COHERENCE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    RAW_BEHAVIOUR_FIELD_NUMBER: _ClassVar[int]
    STEERED_LOGPROB_FIELD_NUMBER: _ClassVar[int]
    DISTINCT_FRACTION_FIELD_NUMBER: _ClassVar[int]
    scale: float
    behaviour: float
    coherence: float
    score: float
    raw_behaviour: float
    steered_logprob: float
    distinct_fraction: float
    def __init__(self, scale: _Optional[float] = ..., behaviour: _Optional[float] = ..., coherence: _Optional[float] = ..., score: _Optional[float] = ..., raw_behaviour: _Optional[float] = ..., steered_logprob: _Optional[float] = ..., distinct_fraction: _Optional[float] = ...) -> None: ...

class VectorCalibration(_message.Message):
    __slots__ = ("best_scale", "points", "behaviour_measure", "unsteered_logprob", "random_logprob", "request", "calibrated_at", "wall_seconds")
    BEST_SCALE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOUR_MEASURE_FIELD_NUMBER: _ClassVar[int]
    UNSTEERED_LOGPROB_FIELD_NUMBER: _ClassVar[int]
    RANDOM_LOGPROB_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    CALIBRATED_AT_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    best_scale: float
    points: _containers.RepeatedCompositeFieldContainer[VectorCalibrationPoint]
    behaviour_measure: str
    unsteered_logprob: float
    random_logprob: float
    request: CalibrateScaleRequest
    calibrated_at: _timestamp_pb2.Timestamp
    wall_seconds: float
    def __init__(self, best_scale: _Optional[float] = ..., points: _Optional[_Iterable[_Union[VectorCalibrationPoint, _Mapping]]] = ..., behaviour_measure: _Optional[str] = ..., unsteered_logprob: _Optional[float] = ..., random_logprob: _Optional[float] = ..., request: _Optional[_Union[CalibrateScaleRequest, _Mapping]] = ..., calibrated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., wall_seconds: _Optional[float] = ...) -> None: ...

class SteeringVector(_message.Message):
    __slots__ = ("id", "model_id", "hook", "method", "vector", "norm", "positions", "from_index", "position_marker", "default_scale", "features", "sae_id", "approximator_id", "recipe", "sources", "created_at", "calibration", "description", "labels", "metadata", "intervention", "training", "kind", "value")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
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
    METHOD_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    NORM_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    FROM_INDEX_FIELD_NUMBER: _ClassVar[int]
    POSITION_MARKER_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_SCALE_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    APPROXIMATOR_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPE_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    INTERVENTION_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    id: str
    model_id: str
    hook: _common_pb2.HookPoint
    method: VectorMethod
    vector: _common_pb2.Tensor
    norm: float
    positions: _common_pb2.PositionPolicy
    from_index: int
    position_marker: str
    default_scale: float
    features: _containers.RepeatedCompositeFieldContainer[WeightedFeature]
    sae_id: str
    approximator_id: str
    recipe: BuildVectorRequest
    sources: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    calibration: VectorCalibration
    description: str
    labels: _containers.ScalarMap[str, str]
    metadata: _containers.ScalarMap[str, str]
    intervention: _common_pb2.Intervention
    training: TrainingReport
    kind: _common_pb2.InterventionKind
    value: float
    def __init__(self, id: _Optional[str] = ..., model_id: _Optional[str] = ..., hook: _Optional[_Union[_common_pb2.HookPoint, _Mapping]] = ..., method: _Optional[_Union[VectorMethod, str]] = ..., vector: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., norm: _Optional[float] = ..., positions: _Optional[_Union[_common_pb2.PositionPolicy, str]] = ..., from_index: _Optional[int] = ..., position_marker: _Optional[str] = ..., default_scale: _Optional[float] = ..., features: _Optional[_Iterable[_Union[WeightedFeature, _Mapping]]] = ..., sae_id: _Optional[str] = ..., approximator_id: _Optional[str] = ..., recipe: _Optional[_Union[BuildVectorRequest, _Mapping]] = ..., sources: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., calibration: _Optional[_Union[VectorCalibration, _Mapping]] = ..., description: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., intervention: _Optional[_Union[_common_pb2.Intervention, _Mapping]] = ..., training: _Optional[_Union[TrainingReport, _Mapping]] = ..., kind: _Optional[_Union[_common_pb2.InterventionKind, str]] = ..., value: _Optional[float] = ...) -> None: ...

class GetVectorRequest(_message.Message):
    __slots__ = ("id", "strength", "prompt", "prompt_tokens")
    ID_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    id: str
    strength: float
    prompt: _common_pb2.Prompt
    prompt_tokens: _common_pb2.TokenIds
    def __init__(self, id: _Optional[str] = ..., strength: _Optional[float] = ..., prompt: _Optional[_Union[_common_pb2.Prompt, _Mapping]] = ..., prompt_tokens: _Optional[_Union[_common_pb2.TokenIds, _Mapping]] = ...) -> None: ...

class ListVectorsRequest(_message.Message):
    __slots__ = ("model_id", "method", "include_data")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DATA_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    method: VectorMethod
    include_data: bool
    def __init__(self, model_id: _Optional[str] = ..., method: _Optional[_Union[VectorMethod, str]] = ..., include_data: _Optional[bool] = ...) -> None: ...

class ListVectorsResponse(_message.Message):
    __slots__ = ("vectors",)
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    vectors: _containers.RepeatedCompositeFieldContainer[SteeringVector]
    def __init__(self, vectors: _Optional[_Iterable[_Union[SteeringVector, _Mapping]]] = ...) -> None: ...

class DeleteVectorRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteVectorResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExportVectorRequest(_message.Message):
    __slots__ = ("id", "format", "scale")
    ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    id: str
    format: VectorFileFormat
    scale: float
    def __init__(self, id: _Optional[str] = ..., format: _Optional[_Union[VectorFileFormat, str]] = ..., scale: _Optional[float] = ...) -> None: ...

class ExportVectorResponse(_message.Message):
    __slots__ = ("data", "file_name", "format", "warnings")
    DATA_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    file_name: str
    format: VectorFileFormat
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, data: _Optional[bytes] = ..., file_name: _Optional[str] = ..., format: _Optional[_Union[VectorFileFormat, str]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class CalibrateScaleRequest(_message.Message):
    __slots__ = ("vector_id", "prompts", "scales", "target_text", "target_features", "samples_per_prompt", "max_tokens", "temperature", "seed", "save")
    VECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    SCALES_FIELD_NUMBER: _ClassVar[int]
    TARGET_TEXT_FIELD_NUMBER: _ClassVar[int]
    TARGET_FEATURES_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_PER_PROMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SAVE_FIELD_NUMBER: _ClassVar[int]
    vector_id: str
    prompts: _containers.RepeatedScalarFieldContainer[str]
    scales: _containers.RepeatedScalarFieldContainer[float]
    target_text: VectorTargetText
    target_features: VectorTargetFeatures
    samples_per_prompt: int
    max_tokens: int
    temperature: float
    seed: int
    save: bool
    def __init__(self, vector_id: _Optional[str] = ..., prompts: _Optional[_Iterable[str]] = ..., scales: _Optional[_Iterable[float]] = ..., target_text: _Optional[_Union[VectorTargetText, _Mapping]] = ..., target_features: _Optional[_Union[VectorTargetFeatures, _Mapping]] = ..., samples_per_prompt: _Optional[int] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., seed: _Optional[int] = ..., save: _Optional[bool] = ...) -> None: ...

class VectorTargetText(_message.Message):
    __slots__ = ("texts",)
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ...) -> None: ...

class VectorTargetFeatures(_message.Message):
    __slots__ = ("sae_id", "features")
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    sae_id: str
    features: _containers.RepeatedCompositeFieldContainer[WeightedFeature]
    def __init__(self, sae_id: _Optional[str] = ..., features: _Optional[_Iterable[_Union[WeightedFeature, _Mapping]]] = ...) -> None: ...

class CalibrateScaleResult(_message.Message):
    __slots__ = ("calibration", "vector")
    CALIBRATION_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    calibration: VectorCalibration
    vector: SteeringVector
    def __init__(self, calibration: _Optional[_Union[VectorCalibration, _Mapping]] = ..., vector: _Optional[_Union[SteeringVector, _Mapping]] = ...) -> None: ...

class TrainEffectApproximatorRequest(_message.Message):
    __slots__ = ("approximator_id", "sae_id", "decoder_directions", "mixture_directions", "random_directions", "prompts", "samples_per_prompt", "baseline_samples_per_prompt", "sequence_length", "temperature", "top_k", "top_p", "fixed_scale", "target_loss_increase", "loss_texts", "loss_dataset", "loss_chunks", "loss_chunk_tokens", "include_bos", "ridge_lambdas", "validation_fraction", "seed", "concurrency", "overwrite")
    APPROXIMATOR_ID_FIELD_NUMBER: _ClassVar[int]
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    DECODER_DIRECTIONS_FIELD_NUMBER: _ClassVar[int]
    MIXTURE_DIRECTIONS_FIELD_NUMBER: _ClassVar[int]
    RANDOM_DIRECTIONS_FIELD_NUMBER: _ClassVar[int]
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_PER_PROMPT_FIELD_NUMBER: _ClassVar[int]
    BASELINE_SAMPLES_PER_PROMPT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    FIXED_SCALE_FIELD_NUMBER: _ClassVar[int]
    TARGET_LOSS_INCREASE_FIELD_NUMBER: _ClassVar[int]
    LOSS_TEXTS_FIELD_NUMBER: _ClassVar[int]
    LOSS_DATASET_FIELD_NUMBER: _ClassVar[int]
    LOSS_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    LOSS_CHUNK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BOS_FIELD_NUMBER: _ClassVar[int]
    RIDGE_LAMBDAS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    approximator_id: str
    sae_id: str
    decoder_directions: int
    mixture_directions: int
    random_directions: int
    prompts: _containers.RepeatedScalarFieldContainer[str]
    samples_per_prompt: int
    baseline_samples_per_prompt: int
    sequence_length: int
    temperature: float
    top_k: int
    top_p: float
    fixed_scale: float
    target_loss_increase: float
    loss_texts: _containers.RepeatedScalarFieldContainer[str]
    loss_dataset: str
    loss_chunks: int
    loss_chunk_tokens: int
    include_bos: bool
    ridge_lambdas: _containers.RepeatedScalarFieldContainer[float]
    validation_fraction: float
    seed: int
    concurrency: int
    overwrite: bool
    def __init__(self, approximator_id: _Optional[str] = ..., sae_id: _Optional[str] = ..., decoder_directions: _Optional[int] = ..., mixture_directions: _Optional[int] = ..., random_directions: _Optional[int] = ..., prompts: _Optional[_Iterable[str]] = ..., samples_per_prompt: _Optional[int] = ..., baseline_samples_per_prompt: _Optional[int] = ..., sequence_length: _Optional[int] = ..., temperature: _Optional[float] = ..., top_k: _Optional[int] = ..., top_p: _Optional[float] = ..., fixed_scale: _Optional[float] = ..., target_loss_increase: _Optional[float] = ..., loss_texts: _Optional[_Iterable[str]] = ..., loss_dataset: _Optional[str] = ..., loss_chunks: _Optional[int] = ..., loss_chunk_tokens: _Optional[int] = ..., include_bos: _Optional[bool] = ..., ridge_lambdas: _Optional[_Iterable[float]] = ..., validation_fraction: _Optional[float] = ..., seed: _Optional[int] = ..., concurrency: _Optional[int] = ..., overwrite: _Optional[bool] = ...) -> None: ...

class EffectApproximatorMetrics(_message.Message):
    __slots__ = ("directions", "train_directions", "held_out_directions", "held_out_r2", "held_out_cosine", "train_r2", "held_out_cosine_bias_only", "mean_scale", "min_scale", "max_scale", "residual_norm", "base_loss", "generated_sequences", "generated_tokens", "wall_seconds", "calibration_seconds", "generation_seconds", "fit_seconds")
    DIRECTIONS_FIELD_NUMBER: _ClassVar[int]
    TRAIN_DIRECTIONS_FIELD_NUMBER: _ClassVar[int]
    HELD_OUT_DIRECTIONS_FIELD_NUMBER: _ClassVar[int]
    LAMBDA_FIELD_NUMBER: _ClassVar[int]
    HELD_OUT_R2_FIELD_NUMBER: _ClassVar[int]
    HELD_OUT_COSINE_FIELD_NUMBER: _ClassVar[int]
    TRAIN_R2_FIELD_NUMBER: _ClassVar[int]
    HELD_OUT_COSINE_BIAS_ONLY_FIELD_NUMBER: _ClassVar[int]
    MEAN_SCALE_FIELD_NUMBER: _ClassVar[int]
    MIN_SCALE_FIELD_NUMBER: _ClassVar[int]
    MAX_SCALE_FIELD_NUMBER: _ClassVar[int]
    RESIDUAL_NORM_FIELD_NUMBER: _ClassVar[int]
    BASE_LOSS_FIELD_NUMBER: _ClassVar[int]
    GENERATED_SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    GENERATED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    GENERATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    directions: int
    train_directions: int
    held_out_directions: int
    held_out_r2: float
    held_out_cosine: float
    train_r2: float
    held_out_cosine_bias_only: float
    mean_scale: float
    min_scale: float
    max_scale: float
    residual_norm: float
    base_loss: float
    generated_sequences: int
    generated_tokens: int
    wall_seconds: float
    calibration_seconds: float
    generation_seconds: float
    fit_seconds: float
    def __init__(self, directions: _Optional[int] = ..., train_directions: _Optional[int] = ..., held_out_directions: _Optional[int] = ..., held_out_r2: _Optional[float] = ..., held_out_cosine: _Optional[float] = ..., train_r2: _Optional[float] = ..., held_out_cosine_bias_only: _Optional[float] = ..., mean_scale: _Optional[float] = ..., min_scale: _Optional[float] = ..., max_scale: _Optional[float] = ..., residual_norm: _Optional[float] = ..., base_loss: _Optional[float] = ..., generated_sequences: _Optional[int] = ..., generated_tokens: _Optional[int] = ..., wall_seconds: _Optional[float] = ..., calibration_seconds: _Optional[float] = ..., generation_seconds: _Optional[float] = ..., fit_seconds: _Optional[float] = ..., **kwargs) -> None: ...

class EffectApproximatorInfo(_message.Message):
    __slots__ = ("id", "model_id", "sae_id", "hook", "d_model", "d_sae", "metrics", "request", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    HOOK_FIELD_NUMBER: _ClassVar[int]
    D_MODEL_FIELD_NUMBER: _ClassVar[int]
    D_SAE_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    model_id: str
    sae_id: str
    hook: _common_pb2.HookPoint
    d_model: int
    d_sae: int
    metrics: EffectApproximatorMetrics
    request: TrainEffectApproximatorRequest
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., model_id: _Optional[str] = ..., sae_id: _Optional[str] = ..., hook: _Optional[_Union[_common_pb2.HookPoint, _Mapping]] = ..., d_model: _Optional[int] = ..., d_sae: _Optional[int] = ..., metrics: _Optional[_Union[EffectApproximatorMetrics, _Mapping]] = ..., request: _Optional[_Union[TrainEffectApproximatorRequest, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetEffectApproximatorRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListEffectApproximatorsRequest(_message.Message):
    __slots__ = ("model_id", "sae_id")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    SAE_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    sae_id: str
    def __init__(self, model_id: _Optional[str] = ..., sae_id: _Optional[str] = ...) -> None: ...

class ListEffectApproximatorsResponse(_message.Message):
    __slots__ = ("approximators",)
    APPROXIMATORS_FIELD_NUMBER: _ClassVar[int]
    approximators: _containers.RepeatedCompositeFieldContainer[EffectApproximatorInfo]
    def __init__(self, approximators: _Optional[_Iterable[_Union[EffectApproximatorInfo, _Mapping]]] = ...) -> None: ...

class DeleteEffectApproximatorRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteEffectApproximatorResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
