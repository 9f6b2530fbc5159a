from steering_mesh.proto import common_pb2 as _common_pb2
from steering_mesh.proto import model_service_pb2 as _model_service_pb2
from steering_mesh.proto import vector_service_pb2 as _vector_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BehaviourJudge(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BEHAVIOUR_JUDGE_UNSPECIFIED: _ClassVar[BehaviourJudge]
    BEHAVIOUR_JUDGE_EMBEDDING: _ClassVar[BehaviourJudge]
    BEHAVIOUR_JUDGE_CHAT: _ClassVar[BehaviourJudge]
BEHAVIOUR_JUDGE_UNSPECIFIED: BehaviourJudge
BEHAVIOUR_JUDGE_EMBEDDING: BehaviourJudge
BEHAVIOUR_JUDGE_CHAT: BehaviourJudge

class SteeringSpec(_message.Message):
    __slots__ = ("vector_id", "intervention", "recipe", "scale", "strength", "hook")
    VECTOR_ID_FIELD_NUMBER: _ClassVar[int]
    INTERVENTION_FIELD_NUMBER: _ClassVar[int]
    RECIPE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    HOOK_FIELD_NUMBER: _ClassVar[int]
    vector_id: str
    intervention: _common_pb2.Intervention
    recipe: _vector_service_pb2.BuildVectorRequest
    scale: float
    strength: float
    hook: str
    def __init__(self, vector_id: _Optional[str] = ..., intervention: _Optional[_Union[_common_pb2.Intervention, _Mapping]] = ..., recipe: _Optional[_Union[_vector_service_pb2.BuildVectorRequest, _Mapping]] = ..., scale: _Optional[float] = ..., strength: _Optional[float] = ..., hook: _Optional[str] = ...) -> None: ...

class SteeredGenerateRequest(_message.Message):
    __slots__ = ("prompt", "sampling", "steering")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    STEERING_FIELD_NUMBER: _ClassVar[int]
    prompt: _common_pb2.Prompt
    sampling: _common_pb2.SamplingParams
    steering: _containers.RepeatedCompositeFieldContainer[SteeringSpec]
    def __init__(self, prompt: _Optional[_Union[_common_pb2.Prompt, _Mapping]] = ..., sampling: _Optional[_Union[_common_pb2.SamplingParams, _Mapping]] = ..., steering: _Optional[_Iterable[_Union[SteeringSpec, _Mapping]]] = ...) -> None: ...

class SteeringConfig(_message.Message):
    __slots__ = ("label", "steering")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    STEERING_FIELD_NUMBER: _ClassVar[int]
    label: str
    steering: _containers.RepeatedCompositeFieldContainer[SteeringSpec]
    def __init__(self, label: _Optional[str] = ..., steering: _Optional[_Iterable[_Union[SteeringSpec, _Mapping]]] = ...) -> None: ...

class CompareRequest(_message.Message):
    __slots__ = ("prompt", "sampling", "configs", "samples")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    prompt: _common_pb2.Prompt
    sampling: _common_pb2.SamplingParams
    configs: _containers.RepeatedCompositeFieldContainer[SteeringConfig]
    samples: int
    def __init__(self, prompt: _Optional[_Union[_common_pb2.Prompt, _Mapping]] = ..., sampling: _Optional[_Union[_common_pb2.SamplingParams, _Mapping]] = ..., configs: _Optional[_Iterable[_Union[SteeringConfig, _Mapping]]] = ..., samples: _Optional[int] = ...) -> None: ...

class ComparedGeneration(_message.Message):
    __slots__ = ("label", "sample", "seed", "text", "token_ids", "finish_reason")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    label: str
    sample: int
    seed: int
    text: str
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    finish_reason: _common_pb2.FinishReason
    def __init__(self, label: _Optional[str] = ..., sample: _Optional[int] = ..., seed: _Optional[int] = ..., text: _Optional[str] = ..., token_ids: _Optional[_Iterable[int]] = ..., finish_reason: _Optional[_Union[_common_pb2.FinishReason, str]] = ...) -> None: ...

class CompareResponse(_message.Message):
    __slots__ = ("generations",)
    GENERATIONS_FIELD_NUMBER: _ClassVar[int]
    generations: _containers.RepeatedCompositeFieldContainer[ComparedGeneration]
    def __init__(self, generations: _Optional[_Iterable[_Union[ComparedGeneration, _Mapping]]] = ...) -> None: ...

class EvaluatedConfig(_message.Message):
    __slots__ = ("label", "steering", "scales", "prompting")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    STEERING_FIELD_NUMBER: _ClassVar[int]
    SCALES_FIELD_NUMBER: _ClassVar[int]
    PROMPTING_FIELD_NUMBER: _ClassVar[int]
    label: str
    steering: _containers.RepeatedCompositeFieldContainer[SteeringSpec]
    scales: _containers.RepeatedScalarFieldContainer[float]
    prompting: PromptingBaseline
    def __init__(self, label: _Optional[str] = ..., steering: _Optional[_Iterable[_Union[SteeringSpec, _Mapping]]] = ..., scales: _Optional[_Iterable[float]] = ..., prompting: _Optional[_Union[PromptingBaseline, _Mapping]] = ...) -> None: ...

class PromptingBaseline(_message.Message):
    __slots__ = ("system_message", "instruction")
    SYSTEM_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    system_message: str
    instruction: str
    def __init__(self, system_message: _Optional[str] = ..., instruction: _Optional[str] = ...) -> None: ...

class EvaluateRequest(_message.Message):
    __slots__ = ("prompt", "sampling", "configs", "criterion", "samples", "behaviour_judge")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOUR_JUDGE_FIELD_NUMBER: _ClassVar[int]
    prompt: _common_pb2.Prompt
    sampling: _common_pb2.SamplingParams
    configs: _containers.RepeatedCompositeFieldContainer[EvaluatedConfig]
    criterion: str
    samples: int
    behaviour_judge: BehaviourJudge
    def __init__(self, prompt: _Optional[_Union[_common_pb2.Prompt, _Mapping]] = ..., sampling: _Optional[_Union[_common_pb2.SamplingParams, _Mapping]] = ..., configs: _Optional[_Iterable[_Union[EvaluatedConfig, _Mapping]]] = ..., criterion: _Optional[str] = ..., samples: _Optional[int] = ..., behaviour_judge: _Optional[_Union[BehaviourJudge, str]] = ...) -> None: ...

class EvaluatedPoint(_message.Message):
    __slots__ = ("label", "scale", "behaviour", "coherence", "product", "samples", "sample_behaviour", "sample_coherence", "axbench")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOUR_FIELD_NUMBER: _ClassVar[int]
    COHERENCE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_BEHAVIOUR_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_COHERENCE_FIELD_NUMBER: _ClassVar[int]
    AXBENCH_FIELD_NUMBER: _ClassVar[int]
    label: str
    scale: float
    behaviour: float
    coherence: float
    product: float
    samples: _containers.RepeatedScalarFieldContainer[str]
    sample_behaviour: _containers.RepeatedScalarFieldContainer[float]
    sample_coherence: _containers.RepeatedScalarFieldContainer[float]
    axbench: AxBenchScores
    def __init__(self, label: _Optional[str] = ..., scale: _Optional[float] = ..., behaviour: _Optional[float] = ..., coherence: _Optional[float] = ..., product: _Optional[float] = ..., samples: _Optional[_Iterable[str]] = ..., sample_behaviour: _Optional[_Iterable[float]] = ..., sample_coherence: _Optional[_Iterable[float]] = ..., axbench: _Optional[_Union[AxBenchScores, _Mapping]] = ...) -> None: ...

class AxBenchScores(_message.Message):
    __slots__ = ("concept", "instruction", "fluency", "harmonic_mean", "sample_harmonic_mean")
    CONCEPT_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    FLUENCY_FIELD_NUMBER: _ClassVar[int]
    HARMONIC_MEAN_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_HARMONIC_MEAN_FIELD_NUMBER: _ClassVar[int]
    concept: float
    instruction: float
    fluency: float
    harmonic_mean: float
    sample_harmonic_mean: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, concept: _Optional[float] = ..., instruction: _Optional[float] = ..., fluency: _Optional[float] = ..., harmonic_mean: _Optional[float] = ..., sample_harmonic_mean: _Optional[_Iterable[float]] = ...) -> None: ...

class BestScale(_message.Message):
    __slots__ = ("label", "scale", "behaviour", "coherence", "product")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOUR_FIELD_NUMBER: _ClassVar[int]
    COHERENCE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    label: str
    scale: float
    behaviour: float
    coherence: float
    product: float
    def __init__(self, label: _Optional[str] = ..., scale: _Optional[float] = ..., behaviour: _Optional[float] = ..., coherence: _Optional[float] = ..., product: _Optional[float] = ...) -> None: ...

class EvaluateResult(_message.Message):
    __slots__ = ("points", "best", "criterion", "judge", "wall_seconds")
    POINTS_FIELD_NUMBER: _ClassVar[int]
    BEST_FIELD_NUMBER: _ClassVar[int]
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    JUDGE_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedCompositeFieldContainer[EvaluatedPoint]
    best: _containers.RepeatedCompositeFieldContainer[BestScale]
    criterion: str
    judge: str
    wall_seconds: float
    def __init__(self, points: _Optional[_Iterable[_Union[EvaluatedPoint, _Mapping]]] = ..., best: _Optional[_Iterable[_Union[BestScale, _Mapping]]] = ..., criterion: _Optional[str] = ..., judge: _Optional[str] = ..., wall_seconds: _Optional[float] = ...) -> None: ...
