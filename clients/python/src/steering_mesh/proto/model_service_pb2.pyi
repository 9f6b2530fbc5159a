from steering_mesh.proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Reduction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REDUCTION_UNSPECIFIED: _ClassVar[Reduction]
    PER_TOKEN: _ClassVar[Reduction]
    MEAN: _ClassVar[Reduction]
REDUCTION_UNSPECIFIED: Reduction
PER_TOKEN: Reduction
MEAN: Reduction

class GetModelInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("model_id", "architecture", "d_model", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "context_length", "hook_points", "dtype", "device", "source_format", "weights_type", "bos_token_id", "eos_token_ids", "has_chat_template", "max_request_tokens", "max_batch_size")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    D_MODEL_FIELD_NUMBER: _ClassVar[int]
    N_LAYERS_FIELD_NUMBER: _ClassVar[int]
    N_HEADS_FIELD_NUMBER: _ClassVar[int]
    N_KV_HEADS_FIELD_NUMBER: _ClassVar[int]
    VOCAB_SIZE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    HOOK_POINTS_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_TYPE_FIELD_NUMBER: _ClassVar[int]
    BOS_TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    EOS_TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    HAS_CHAT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    MAX_REQUEST_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    architecture: str
    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    context_length: int
    hook_points: _containers.RepeatedScalarFieldContainer[str]
    dtype: str
    device: str
    source_format: str
    weights_type: str
    bos_token_id: int
    eos_token_ids: _containers.RepeatedScalarFieldContainer[int]
    has_chat_template: bool
    max_request_tokens: int
    max_batch_size: int
    def __init__(self, model_id: _Optional[str] = ..., architecture: _Optional[str] = ..., d_model: _Optional[int] = ..., n_layers: _Optional[int] = ..., n_heads: _Optional[int] = ..., n_kv_heads: _Optional[int] = ..., vocab_size: _Optional[int] = ..., context_length: _Optional[int] = ..., hook_points: _Optional[_Iterable[str]] = ..., dtype: _Optional[str] = ..., device: _Optional[str] = ..., source_format: _Optional[str] = ..., weights_type: _Optional[str] = ..., bos_token_id: _Optional[int] = ..., eos_token_ids: _Optional[_Iterable[int]] = ..., has_chat_template: _Optional[bool] = ..., max_request_tokens: _Optional[int] = ..., max_batch_size: _Optional[int] = ...) -> None: ...

class TokenizeRequest(_message.Message):
    __slots__ = ("prompt",)
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    prompt: _common_pb2.Prompt
    def __init__(self, prompt: _Optional[_Union[_common_pb2.Prompt, _Mapping]] = ...) -> None: ...

class TokenizeResponse(_message.Message):
    __slots__ = ("ids", "tokens")
    IDS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[int]
    tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[int]] = ..., tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class DetokenizeRequest(_message.Message):
    __slots__ = ("ids", "skip_special_tokens")
    IDS_FIELD_NUMBER: _ClassVar[int]
    SKIP_SPECIAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[int]
    skip_special_tokens: bool
    def __init__(self, ids: _Optional[_Iterable[int]] = ..., skip_special_tokens: _Optional[bool] = ...) -> None: ...

class DetokenizeResponse(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("prompt", "sampling", "interventions")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    INTERVENTIONS_FIELD_NUMBER: _ClassVar[int]
    prompt: _common_pb2.Prompt
    sampling: _common_pb2.SamplingParams
    interventions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Intervention]
    def __init__(self, prompt: _Optional[_Union[_common_pb2.Prompt, _Mapping]] = ..., sampling: _Optional[_Union[_common_pb2.SamplingParams, _Mapping]] = ..., interventions: _Optional[_Iterable[_Union[_common_pb2.Intervention, _Mapping]]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("prompt_tokens", "completion_tokens")
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    prompt_tokens: int
    completion_tokens: int
    def __init__(self, prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("token_ids", "text_delta", "finish_reason", "usage", "prompt_token_ids", "logprobs", "conditions")
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    TEXT_DELTA_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    text_delta: str
    finish_reason: _common_pb2.FinishReason
    usage: Usage
    prompt_token_ids: _containers.RepeatedScalarFieldContainer[int]
    logprobs: _containers.RepeatedCompositeFieldContainer[_common_pb2.TokenLogprob]
    conditions: _containers.RepeatedCompositeFieldContainer[_common_pb2.ConditionResult]
    def __init__(self, token_ids: _Optional[_Iterable[int]] = ..., text_delta: _Optional[str] = ..., finish_reason: _Optional[_Union[_common_pb2.FinishReason, str]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., prompt_token_ids: _Optional[_Iterable[int]] = ..., logprobs: _Optional[_Iterable[_Union[_common_pb2.TokenLogprob, _Mapping]]] = ..., conditions: _Optional[_Iterable[_Union[_common_pb2.ConditionResult, _Mapping]]] = ...) -> None: ...

class ScoreRequest(_message.Message):
    __slots__ = ("prompt", "continuation_text", "continuation_tokens", "interventions")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    CONTINUATION_TEXT_FIELD_NUMBER: _ClassVar[int]
    CONTINUATION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    INTERVENTIONS_FIELD_NUMBER: _ClassVar[int]
    prompt: _common_pb2.Prompt
    continuation_text: str
    continuation_tokens: _common_pb2.TokenIds
    interventions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Intervention]
    def __init__(self, prompt: _Optional[_Union[_common_pb2.Prompt, _Mapping]] = ..., continuation_text: _Optional[str] = ..., continuation_tokens: _Optional[_Union[_common_pb2.TokenIds, _Mapping]] = ..., interventions: _Optional[_Iterable[_Union[_common_pb2.Intervention, _Mapping]]] = ...) -> None: ...

class ScoreResponse(_message.Message):
    __slots__ = ("token_ids", "logprobs", "total_logprob", "greedy_token_ids", "prompt_tokens")
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LOGPROB_FIELD_NUMBER: _ClassVar[int]
    GREEDY_TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    logprobs: _containers.RepeatedScalarFieldContainer[float]
    total_logprob: float
    greedy_token_ids: _containers.RepeatedScalarFieldContainer[int]
    prompt_tokens: int
    def __init__(self, token_ids: _Optional[_Iterable[int]] = ..., logprobs: _Optional[_Iterable[float]] = ..., total_logprob: _Optional[float] = ..., greedy_token_ids: _Optional[_Iterable[int]] = ..., prompt_tokens: _Optional[int] = ...) -> None: ...

class GradientExample(_message.Message):
    __slots__ = ("prompt", "continuation_text", "continuation_tokens", "multiplier")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    CONTINUATION_TEXT_FIELD_NUMBER: _ClassVar[int]
    CONTINUATION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    prompt: _common_pb2.Prompt
    continuation_text: str
    continuation_tokens: _common_pb2.TokenIds
    multiplier: float
    def __init__(self, prompt: _Optional[_Union[_common_pb2.Prompt, _Mapping]] = ..., continuation_text: _Optional[str] = ..., continuation_tokens: _Optional[_Union[_common_pb2.TokenIds, _Mapping]] = ..., multiplier: _Optional[float] = ...) -> None: ...

class ScoreGradientsRequest(_message.Message):
    __slots__ = ("examples", "interventions", "trainable")
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    INTERVENTIONS_FIELD_NUMBER: _ClassVar[int]
    TRAINABLE_FIELD_NUMBER: _ClassVar[int]
    examples: _containers.RepeatedCompositeFieldContainer[GradientExample]
    interventions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Intervention]
    trainable: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, examples: _Optional[_Iterable[_Union[GradientExample, _Mapping]]] = ..., interventions: _Optional[_Iterable[_Union[_common_pb2.Intervention, _Mapping]]] = ..., trainable: _Optional[_Iterable[int]] = ...) -> None: ...

class ExampleGradients(_message.Message):
    __slots__ = ("token_ids", "logprobs", "total_logprob", "prompt_tokens", "gradients")
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LOGPROB_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    GRADIENTS_FIELD_NUMBER: _ClassVar[int]
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    logprobs: _containers.RepeatedScalarFieldContainer[float]
    total_logprob: float
    prompt_tokens: int
    gradients: _containers.RepeatedCompositeFieldContainer[_common_pb2.Tensor]
    def __init__(self, token_ids: _Optional[_Iterable[int]] = ..., logprobs: _Optional[_Iterable[float]] = ..., total_logprob: _Optional[float] = ..., prompt_tokens: _Optional[int] = ..., gradients: _Optional[_Iterable[_Union[_common_pb2.Tensor, _Mapping]]] = ...) -> None: ...

class ScoreGradientsResponse(_message.Message):
    __slots__ = ("examples", "summed_gradients")
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    SUMMED_GRADIENTS_FIELD_NUMBER: _ClassVar[int]
    examples: _containers.RepeatedCompositeFieldContainer[ExampleGradients]
    summed_gradients: _containers.RepeatedCompositeFieldContainer[_common_pb2.Tensor]
    def __init__(self, examples: _Optional[_Iterable[_Union[ExampleGradients, _Mapping]]] = ..., summed_gradients: _Optional[_Iterable[_Union[_common_pb2.Tensor, _Mapping]]] = ...) -> None: ...

class PositionSelection(_message.Message):
    __slots__ = ("positions", "from_index", "exclude_bos")
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    FROM_INDEX_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_BOS_FIELD_NUMBER: _ClassVar[int]
    positions: _containers.RepeatedScalarFieldContainer[int]
    from_index: int
    exclude_bos: bool
    def __init__(self, positions: _Optional[_Iterable[int]] = ..., from_index: _Optional[int] = ..., exclude_bos: _Optional[bool] = ...) -> None: ...

class CaptureActivationsRequest(_message.Message):
    __slots__ = ("inputs", "hooks", "reduction", "selection", "interventions")
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    HOOKS_FIELD_NUMBER: _ClassVar[int]
    REDUCTION_FIELD_NUMBER: _ClassVar[int]
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    INTERVENTIONS_FIELD_NUMBER: _ClassVar[int]
    inputs: _containers.RepeatedCompositeFieldContainer[_common_pb2.Prompt]
    hooks: _containers.RepeatedCompositeFieldContainer[_common_pb2.HookPoint]
    reduction: Reduction
    selection: PositionSelection
    interventions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Intervention]
    def __init__(self, inputs: _Optional[_Iterable[_Union[_common_pb2.Prompt, _Mapping]]] = ..., hooks: _Optional[_Iterable[_Union[_common_pb2.HookPoint, _Mapping]]] = ..., reduction: _Optional[_Union[Reduction, str]] = ..., selection: _Optional[_Union[PositionSelection, _Mapping]] = ..., interventions: _Optional[_Iterable[_Union[_common_pb2.Intervention, _Mapping]]] = ...) -> None: ...

class CaptureActivationsResponse(_message.Message):
    __slots__ = ("input_index", "hook", "activations", "token_ids", "positions")
    INPUT_INDEX_FIELD_NUMBER: _ClassVar[int]
    HOOK_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    input_index: int
    hook: str
    activations: _common_pb2.Tensor
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    positions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, input_index: _Optional[int] = ..., hook: _Optional[str] = ..., activations: _Optional[_Union[_common_pb2.Tensor, _Mapping]] = ..., token_ids: _Optional[_Iterable[int]] = ..., positions: _Optional[_Iterable[int]] = ...) -> None: ...
