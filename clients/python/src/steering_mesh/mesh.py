"""`Mesh`: the gateway and, where a call needs them, model-service, sae-service and vector-service."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import grpc
import numpy as np
from google.protobuf import descriptor_pool, message_factory

from steering_mesh import recipes
from steering_mesh.errors import MeshError
from steering_mesh.proto import common_pb2 as c
from steering_mesh.proto import gateway_pb2 as g
from steering_mesh.proto import gateway_pb2_grpc
from steering_mesh.proto import model_service_pb2 as m
from steering_mesh.proto import model_service_pb2_grpc
from steering_mesh.proto import sae_service_pb2 as s
from steering_mesh.proto import sae_service_pb2_grpc
from steering_mesh.proto import vector_service_pb2 as v
from steering_mesh.proto import vector_service_pb2_grpc
from steering_mesh.scoring import (Condition, ConditionResult, Score, TokenLogprob, condition_results,
                                   token_logprobs)
from steering_mesh.tensors import DTypeLike, from_tensor, to_tensor

PromptLike = Union[str, Sequence[int], Sequence[Mapping[str, str]], c.Prompt]
_FINISH = {c.FINISH_REASON_LENGTH: "length", c.FINISH_REASON_EOS: "eos", c.FINISH_REASON_STOP_STRING: "stop",
           c.FINISH_REASON_CANCELLED: "cancelled"}
_KINDS = {"add": c.ADD, "ablate": c.ABLATE, "clamp": c.CLAMP, "cap_at_most": c.CAP_AT_MOST,
          "cap_at_least": c.CAP_AT_LEAST, "sae_feature": c.SAE_FEATURE}
_KIND_NAMES = {number: name for name, number in _KINDS.items()}
_REDUCTIONS = {None: s.FEATURE_REDUCTION_PER_TOKEN, "per_token": s.FEATURE_REDUCTION_PER_TOKEN,
               "mean": s.FEATURE_REDUCTION_MEAN, "max": s.FEATURE_REDUCTION_MAX}
_JUDGES = {"embedding": g.BEHAVIOUR_JUDGE_EMBEDDING, "chat": g.BEHAVIOUR_JUDGE_CHAT}
_METHODS = {name[len("VECTOR_METHOD_"):].lower(): value for name, value in v.VectorMethod.items()}


def prompt(p: PromptLike, add_bos: Optional[bool] = None) -> c.Prompt:
    """A Prompt from text, token ids, or chat messages ([{"role": "user", "content": ...}, ...])."""
    if isinstance(p, c.Prompt):
        return p
    if isinstance(p, str):
        out = c.Prompt(text=p)
    elif len(p) and all(isinstance(t, (int, np.integer)) for t in p):
        out = c.Prompt(tokens=c.TokenIds(ids=[int(t) for t in p]))
    else:
        out = c.Prompt(chat=c.ChatMessages(messages=[c.ChatMessage(role=x["role"], content=x["content"]) for x in p]))
    if add_bos is not None:
        out.add_bos = add_bos
    return out


def sampling(max_tokens: int = 0, temperature: float = 0.0, top_k: int = 0, top_p: float = 0.0,
             seed: Optional[int] = None, stop: Sequence[str] = (), ignore_eos: bool = False,
             logprobs: bool = False, top_logprobs: int = 0) -> c.SamplingParams:
    """SamplingParams; temperature 0 is greedy, max_tokens 0 the service's default; `logprobs` returns each
    token's log-probability, `top_logprobs` (0..20, implies logprobs) also the most likely alternatives."""
    out = c.SamplingParams(max_tokens=max_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                           stop=list(stop), ignore_eos=ignore_eos, logprobs=logprobs or top_logprobs > 0,
                           top_logprobs=top_logprobs)
    if seed is not None:
        out.seed = seed
    return out


@dataclass
class Vector:
    """A steering vector of vector-service's registry (or of a build with save=False)."""
    id: str
    array: Optional[np.ndarray]
    hook: str
    method: str
    norm: float
    default_scale: float
    positions: str
    features: Dict[int, float]
    saved: bool
    proto: v.SteeringVector = field(repr=False)
    #: how it is applied by default: add, ablate, clamp, cap_at_most, cap_at_least, sae_feature
    kind: str = "add"
    #: the target value of clamp, caps and sae_feature (None for add and ablate)
    value: Optional[float] = None

    @classmethod
    def of(cls, p: v.SteeringVector, saved: bool = True) -> "Vector":
        return cls(id=p.id, array=_data(p), hook=p.hook.name,
                   method=v.VectorMethod.Name(p.method)[len("VECTOR_METHOD_"):].lower(), norm=p.norm,
                   default_scale=p.default_scale, positions=c.PositionPolicy.Name(p.positions).lower(),
                   features={f.feature: f.weight for f in p.features}, saved=saved, proto=p,
                   kind=_KIND_NAMES[p.kind], value=p.value if p.HasField("value") else None)

    def steer(self, scale: Optional[float] = None, strength: Optional[float] = None,
              hook: Optional[str] = None) -> "Steer":
        """This vector as steering: by id when stored, else inline. No scale/strength: strength 1.0 (the
        calibrated or the recipe's scale)."""
        return Steer(self, scale=scale, strength=strength, hook=hook)


def _data(p: v.SteeringVector) -> Optional[np.ndarray]:
    """The vector's tensor: `vector`, or where GetVector sends it (once), in its intervention (every kind but
    sae_feature, whose intervention holds the SAE's tensors); None when left out (ListVectors without include_data)."""
    if p.HasField("vector"):
        return from_tensor(p.vector)
    return from_tensor(p.intervention.vector) if p.intervention.HasField("vector") else None


@dataclass(frozen=True)
class Feature:
    """An SAE feature to steer with (kind sae_feature): the gateway resolves it through vector-service and
    sae-service into the SAE's tensors; it applies at the SAE's hook."""
    sae_id: str
    index: int


def _magnitude(out: c.Intervention, m: float, multiply: bool) -> Optional[c.Intervention]:
    """The gateway's rule (steering.common.steer.Magnitude): scale/strength are ADD's scale, the value of clamp,
    caps and sae_feature; ablate takes 0 (None: left out) or 1."""
    if out.kind == c.ADD:
        out.scale = (out.scale if out.HasField("scale") else 1.0) * m if multiply else m
    elif out.kind == c.ABLATE:
        if m not in (0, 1):
            raise ValueError(f"{m} does not apply to ablate, which has no magnitude: 0 turns it off, 1 applies it")
        return out if m == 1 else None
    else:
        out.value = out.value * m if multiply else m
    return out


@dataclass
class Steer:
    """One intervention while generating: a numpy array (needs `hook`), a registry id, a `Vector`, a recipe of
    `steering_mesh.recipes` built on the fly, or an SAE `Feature`. `kind`: add, ablate, clamp, cap_at_most,
    cap_at_least (arrays) or sae_feature (a `Feature`); `value` is the target of clamp, caps and sae_feature.
    `scale` and `strength` are the kind's magnitude: ADD's scale (strength: a multiple of a registry vector's
    calibrated scale), the value of the value kinds; ablate takes 0 (off) or 1. `positions`: all, prompt_front,
    from_index, prompt_only, generated_only (arrays and features). `condition`: a `Condition` (CAST) deciding from
    the prompt whether to steer the generated tokens (arrays and Vectors with their data, sent inline; generation
    only)."""
    vector: object
    hook: Optional[str] = None
    scale: Optional[float] = None
    strength: Optional[float] = None
    positions: str = "all"
    from_index: int = 0
    kind: str = "add"
    value: Optional[float] = None
    dtype: DTypeLike = "float32"
    condition: Optional[Condition] = None

    def intervention(self) -> c.Intervention:
        """The model-service Intervention (arrays and `Vector`s with their data only)."""
        if isinstance(self.vector, Vector):
            out = c.Intervention()
            out.CopyFrom(self.vector.proto.intervention)
            if self.hook:
                out.hook.name = self.hook
            if self.scale is not None:
                out = _magnitude(out, self.scale, multiply=False)
            elif self.strength is not None:
                out = _magnitude(out, self.strength, multiply=True)
            if self.condition is not None and out is not None:
                out.condition.CopyFrom(self.condition.proto())
            return out
        if isinstance(self.vector, Feature):
            raise TypeError("an SAE Feature is resolved by the gateway: steer with it through generate / compare / "
                            "evaluate, or build it as a vector (recipes.sae_decoder with kind='sae_feature')")
        if not isinstance(self.vector, np.ndarray):
            raise TypeError("an Intervention needs a numpy array or a Vector, not " + type(self.vector).__name__)
        if not self.hook:
            raise ValueError("Steer with an array needs hook=, e.g. 'blocks.2.hook_resid_pre'")
        out = c.Intervention(hook=c.HookPoint(name=self.hook), vector=to_tensor(self.vector, self.dtype),
                             positions=recipes.POSITIONS[self.positions], from_index=self.from_index,
                             kind=_KINDS[self.kind])
        if self.scale is not None:
            out.scale = self.scale
        if self.value is not None:
            out.value = self.value
        if self.condition is not None:
            out.condition.CopyFrom(self.condition.proto())
        return out

    def spec(self) -> g.SteeringSpec:
        """The gateway's SteeringSpec."""
        out = g.SteeringSpec()
        target = self.vector
        if self.condition is not None:
            # SteeringSpec carries a condition only inside an inline intervention
            if isinstance(target, Vector) and target.proto.HasField("intervention"):
                out.intervention.CopyFrom(self.intervention())
                return out
            if not isinstance(target, np.ndarray):
                raise ValueError("a condition needs the vector's data: pass an array or a Vector with its data "
                                 "(mesh.vector_info(id)), not a registry id or a recipe")
        if isinstance(target, Vector) and target.saved:
            target = target.id
        if isinstance(target, str):
            out.vector_id = target
            out.hook = self.hook or ""
        elif type(target) in recipes.FIELDS:
            out.recipe.CopyFrom(recipes.request(target))
            out.hook = self.hook or ""
        elif isinstance(target, Feature):
            iv = out.intervention
            iv.kind = c.SAE_FEATURE
            iv.sae_feature.sae_id = target.sae_id
            iv.sae_feature.feature = target.index
            iv.positions = recipes.POSITIONS[self.positions]
            iv.from_index = self.from_index
            if self.hook:
                iv.hook.name = self.hook
            if self.value is not None:
                iv.value = self.value
        else:
            inline = Steer(self.vector, self.hook, None, None, self.positions, self.from_index, self.kind,
                           self.value, self.dtype, self.condition)
            out.intervention.CopyFrom(inline.intervention())
        if self.scale is not None:
            out.scale = self.scale
        if self.strength is not None:
            out.strength = self.strength
        return out


SteeringLike = Union[None, Steer, Vector, str, Sequence[Union[Steer, Vector, str]]]


def _steers(steering: SteeringLike) -> List[Steer]:
    if steering is None:
        return []
    if isinstance(steering, (Steer, Vector, str)):
        steering = [steering]
    return [x if isinstance(x, Steer) else Steer(x) for x in steering]


@dataclass
class Chunk:
    """One step of a streamed generation."""
    text: str
    token_ids: List[int]
    finish_reason: Optional[str]
    # with logprobs=True / top_logprobs=k: one per token of this step
    logprobs: List[TokenLogprob] = field(default_factory=list)
    # on the first chunk: the decisions of conditional interventions
    conditions: List[ConditionResult] = field(default_factory=list)


@dataclass
class Generation:
    text: str
    token_ids: List[int]
    prompt_token_ids: List[int]
    finish_reason: Optional[str]
    prompt_tokens: int
    completion_tokens: int
    logprobs: List[TokenLogprob] = field(default_factory=list)
    conditions: List[ConditionResult] = field(default_factory=list)


@dataclass
class Compared:
    label: str
    sample: int
    seed: int
    text: str
    token_ids: List[int]
    finish_reason: Optional[str]


@dataclass
class Tokens:
    ids: List[int]
    tokens: List[str]


class Operation:
    """A long-running operation (SAE training, effect approximator, calibration, evaluation) of one service."""

    def __init__(self, proto: c.Operation, stub, mesh: "Mesh", service: str):
        self.proto = proto
        self._stub = stub
        self._mesh = mesh
        self._service = service

    id = property(lambda self: self.proto.id)
    kind = property(lambda self: self.proto.kind)
    progress = property(lambda self: self.proto.progress)
    message = property(lambda self: self.proto.message)
    metrics = property(lambda self: dict(self.proto.metrics))
    state = property(lambda self: c.OperationState.Name(self.proto.state)[len("OPERATION_STATE_"):].lower())
    done = property(lambda self: self.proto.state in (c.OPERATION_STATE_SUCCEEDED, c.OPERATION_STATE_FAILED,
                                                      c.OPERATION_STATE_CANCELLED))

    def __repr__(self) -> str:
        return f"Operation({self.kind} {self.id} {self.state} {self.progress:.0%} {self.message!r})"

    def refresh(self) -> "Operation":
        self.proto = self._mesh._call(self._stub.GetOperation, c.GetOperationRequest(id=self.id),
                                      self._service + "/GetOperation")
        return self

    def cancel(self) -> "Operation":
        self.proto = self._mesh._call(self._stub.CancelOperation, c.CancelOperationRequest(id=self.id),
                                      self._service + "/CancelOperation")
        return self

    def wait(self, timeout: Optional[float] = None,
             on_progress: Optional[Callable[["Operation"], None]] = None):
        """Follows the operation (WatchOperation) until it ends; calls on_progress(self) on every change; returns
        the result message, raises MeshError with the operation's code and message when it failed or was
        cancelled, and DEADLINE_EXCEEDED after `timeout` seconds (default: the Mesh's timeout)."""
        end = time.monotonic() + (timeout if timeout is not None else self._mesh.timeout)
        while not self.done:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise MeshError(grpc.StatusCode.DEADLINE_EXCEEDED, f"operation {self.id} still {self.state}",
                                self._service + "/WatchOperation")
            for update in self._mesh._stream(self._stub.WatchOperation, c.WatchOperationRequest(id=self.id),
                                             self._service + "/WatchOperation", timeout=remaining):
                self.proto = update
                if on_progress is not None:
                    on_progress(self)
            if not self.done:
                self.refresh()
        return self.result()

    def result(self):
        """The unpacked result of a finished operation (e.g. TrainSaeResult, EvaluateResult)."""
        if self.proto.state == c.OPERATION_STATE_FAILED:
            raise MeshError.from_code(self.proto.error.code, self.proto.error.message, f"{self.kind} {self.id}")
        if self.proto.state == c.OPERATION_STATE_CANCELLED:
            raise MeshError(grpc.StatusCode.CANCELLED, self.message or "cancelled", f"{self.kind} {self.id}")
        if self.proto.state != c.OPERATION_STATE_SUCCEEDED:
            raise MeshError(grpc.StatusCode.FAILED_PRECONDITION, f"operation {self.id} is {self.state}", self.kind)
        name = self.proto.result.type_url.split("/")[-1]
        cls = message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(name))
        out = cls()
        self.proto.result.Unpack(out)
        return out


def _read(path_or_bytes: Union[str, bytes, None]) -> Optional[bytes]:
    if path_or_bytes is None or isinstance(path_or_bytes, bytes):
        return path_or_bytes
    with open(path_or_bytes, "rb") as f:
        return f.read()


class Mesh:
    """A client of the steering mesh.

    `gateway`: the gateway's gRPC address (generation, comparisons, evaluations, vector builds and listing).
    `model_service`, `sae_service`, `vector_service`: addresses of the services for the calls the gateway does not
    offer (tokenize and capture; SAEs; reading single vectors, approximators). `api_key` is sent as
    `authorization: Bearer <key>`. TLS: `tls=True` (system roots), or `ca` (PEM path or bytes) and, for mTLS,
    `cert` and `key`; `server_name` overrides the name checked in the server's certificate. `timeout` is each
    call's deadline in seconds.
    """

    def __init__(self, gateway: str = "127.0.0.1:50050", *, model_service: Optional[str] = None,
                 sae_service: Optional[str] = None, vector_service: Optional[str] = None,
                 api_key: Optional[str] = None, tls: bool = False, ca: Union[str, bytes, None] = None,
                 cert: Union[str, bytes, None] = None, key: Union[str, bytes, None] = None,
                 server_name: Optional[str] = None, timeout: float = 600.0):
        self.timeout = timeout
        self._metadata = (("authorization", "Bearer " + api_key),) if api_key else ()
        credentials = None
        if tls or ca or cert or key:
            credentials = grpc.ssl_channel_credentials(root_certificates=_read(ca), private_key=_read(key),
                                                       certificate_chain=_read(cert))
        options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 16 << 20)]
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
        self._channels: Dict[str, grpc.Channel] = {}

        def channel(address: Optional[str]) -> Optional[grpc.Channel]:
            if address is None:
                return None
            if address not in self._channels:
                self._channels[address] = (grpc.secure_channel(address, credentials, options) if credentials
                                           else grpc.insecure_channel(address, options))
            return self._channels[address]

        self._gateway = gateway_pb2_grpc.SteeringStub(channel(gateway))
        self._addresses = {"model_service": model_service, "sae_service": sae_service,
                           "vector_service": vector_service}
        self._model = model_service and model_service_pb2_grpc.ModelServiceStub(channel(model_service))
        self._sae = sae_service and sae_service_pb2_grpc.SaeServiceStub(channel(sae_service))
        self._vectors = vector_service and vector_service_pb2_grpc.VectorServiceStub(channel(vector_service))

    @classmethod
    def local(cls, host: str = "127.0.0.1", **options) -> "Mesh":
        """The mesh of deploy/local/up.sh: gateway 50050, model 50051, SAE 50052, vector 50053."""
        return cls(f"{host}:50050", model_service=f"{host}:50051", sae_service=f"{host}:50052",
                   vector_service=f"{host}:50053", **options)

    def close(self) -> None:
        for ch in self._channels.values():
            ch.close()

    def __enter__(self) -> "Mesh":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------------------------
    def _call(self, method, request, name: str, timeout: Optional[float] = None):
        try:
            return method(request, timeout=timeout or self.timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise MeshError.from_rpc(e, name) from None

    def _stream(self, method, request, name: str, timeout: Optional[float] = None):
        call = method(request, timeout=timeout or self.timeout, metadata=self._metadata)
        try:
            yield from call
        except grpc.RpcError as e:
            raise MeshError.from_rpc(e, name) from None
        finally:
            call.cancel()

    def _need(self, stub, service: str, call: str):
        if not stub:
            raise ValueError(f"{call} needs {service.replace('_', '-')}: Mesh(..., {service}='host:port')")
        return stub

    # -- model ---------------------------------------------------------------------------------------------------
    def info(self) -> m.ModelInfo:
        """The served model: model_id, d_model, n_layers, hook_points, ..."""
        return self._call(self._gateway.GetModelInfo, m.GetModelInfoRequest(), "Steering/GetModelInfo")

    def tokenize(self, text: PromptLike, add_bos: Optional[bool] = None) -> Tokens:
        stub = self._need(self._model, "model_service", "tokenize")
        r = self._call(stub.Tokenize, m.TokenizeRequest(prompt=prompt(text, add_bos)), "ModelService/Tokenize")
        return Tokens(list(r.ids), list(r.tokens))

    def detokenize(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        stub = self._need(self._model, "model_service", "detokenize")
        return self._call(stub.Detokenize, m.DetokenizeRequest(ids=list(ids), skip_special_tokens=skip_special_tokens),
                          "ModelService/Detokenize").text

    def capture(self, prompts: Union[PromptLike, Sequence[PromptLike]], hooks: Union[str, Sequence[str]], *,
                mean: bool = False, exclude_bos: bool = False, positions: Sequence[int] = (),
                from_index: int = 0, steering: SteeringLike = None):
        """Residual-stream activations as float32 arrays: [tokens, d_model] per prompt and hook, or [d_model] with
        `mean`. One prompt and one hook give one array; a list of hooks a {hook: array} dict; a list of prompts a
        list of those. `steering` (arrays or Vectors) is applied as in a generation's prefill."""
        stub = self._need(self._model, "model_service", "capture")
        many = not isinstance(prompts, (str, c.Prompt)) and not (
            len(prompts) and all(isinstance(t, (int, np.integer)) for t in prompts))
        inputs = [prompt(p) for p in prompts] if many else [prompt(prompts)]
        hook_list = [hooks] if isinstance(hooks, str) else list(hooks)
        request = m.CaptureActivationsRequest(
            inputs=inputs, hooks=[c.HookPoint(name=h) for h in hook_list],
            reduction=m.MEAN if mean else m.PER_TOKEN,
            selection=m.PositionSelection(positions=list(positions), from_index=from_index, exclude_bos=exclude_bos),
            interventions=[x.intervention() for x in _steers(steering)])
        out: List[Dict[str, np.ndarray]] = [{} for _ in inputs]
        for r in self._stream(stub.CaptureActivations, request, "ModelService/CaptureActivations"):
            out[r.input_index][r.hook] = from_tensor(r.activations)
        per_prompt = [d[hooks] if isinstance(hooks, str) else d for d in out]
        return per_prompt if many else per_prompt[0]

    def score(self, text: PromptLike, continuation: Union[str, Sequence[int]], steering: SteeringLike = None) -> Score:
        """log p of each token of `continuation` (text, tokenized without BOS, or token ids) after the prompt, under
        `steering` (arrays or Vectors) when given: numpy logprobs, their total, the greedy choice at each position."""
        stub = self._need(self._model, "model_service", "score")
        request = m.ScoreRequest(prompt=prompt(text), interventions=[x.intervention() for x in _steers(steering)])
        if isinstance(continuation, str):
            request.continuation_text = continuation
        else:
            request.continuation_tokens.ids.extend(int(t) for t in continuation)
        r = self._call(stub.Score, request, "ModelService/Score")
        return Score(list(r.token_ids), np.array(r.logprobs, dtype=np.float32), r.total_logprob,
                     list(r.greedy_token_ids), r.prompt_tokens)

    # -- generation ----------------------------------------------------------------------------------------------
    def generate_stream(self, text: PromptLike, steering: SteeringLike = None, **sampling_options) -> Iterator[Chunk]:
        """Steered generation, token by token (stop iterating to cancel it). Sampling options: max_tokens,
        temperature, top_k, top_p, seed, stop, ignore_eos, logprobs, top_logprobs."""
        request = g.SteeredGenerateRequest(prompt=prompt(text), sampling=sampling(**sampling_options),
                                           steering=[x.spec() for x in _steers(steering)])
        for r in self._stream(self._gateway.Generate, request, "Steering/Generate"):
            yield Chunk(r.text_delta, list(r.token_ids), _FINISH.get(r.finish_reason), token_logprobs(r.logprobs),
                        condition_results(r.conditions))

    def generate(self, text: PromptLike, steering: SteeringLike = None, **sampling_options) -> Generation:
        """Steered generation, the whole text at once (same options as generate_stream)."""
        request = g.SteeredGenerateRequest(prompt=prompt(text), sampling=sampling(**sampling_options),
                                           steering=[x.spec() for x in _steers(steering)])
        out = Generation("", [], [], None, 0, 0)
        for r in self._stream(self._gateway.Generate, request, "Steering/Generate"):
            out.text += r.text_delta
            out.token_ids += r.token_ids
            out.prompt_token_ids += r.prompt_token_ids
            out.logprobs += token_logprobs(r.logprobs)
            out.conditions += condition_results(r.conditions)
            if r.finish_reason:
                out.finish_reason = _FINISH.get(r.finish_reason)
            if r.HasField("usage"):
                out.prompt_tokens, out.completion_tokens = r.usage.prompt_tokens, r.usage.completion_tokens
        return out

    def compare(self, text: PromptLike, configs: Mapping[str, SteeringLike], samples: int = 1,
                **sampling_options) -> List[Compared]:
        """One prompt under several steerings ({label: steering}, None = unsteered), `samples` each with seeds
        seed, seed+1, ... shared by every label, generated in one batch."""
        request = g.CompareRequest(prompt=prompt(text), sampling=sampling(**sampling_options), samples=samples,
                                   configs=[g.SteeringConfig(label=label, steering=[x.spec() for x in _steers(st)])
                                            for label, st in configs.items()])
        r = self._call(self._gateway.Compare, request, "Steering/Compare")
        return [Compared(x.label, x.sample, x.seed, x.text, list(x.token_ids), _FINISH.get(x.finish_reason))
                for x in r.generations]

    # -- evaluation ----------------------------------------------------------------------------------------------
    def start_evaluate(self, criterion: str, steering: SteeringLike = None, scales: Sequence[float] = (), *,
                       configs: Optional[Mapping[str, tuple]] = None, label: str = "steered",
                       text: Optional[PromptLike] = None, samples: int = 0, judge: str = "embedding",
                       **sampling_options) -> Operation:
        """Starts a behaviour x coherence sweep on the gateway: `steering` at each of `scales`, or several
        `configs={label: (steering, scales)}`; `text` is the prompt (default "I think")."""
        configs = dict(configs or {label: (steering, scales)})
        request = g.EvaluateRequest(
            criterion=criterion, samples=samples, behaviour_judge=_JUDGES[judge],
            configs=[g.EvaluatedConfig(label=lab, steering=[x.spec() for x in _steers(st)], scales=list(sc))
                     for lab, (st, sc) in configs.items()])
        if text is not None:
            request.prompt.CopyFrom(prompt(text))
        if sampling_options:
            request.sampling.CopyFrom(sampling(**sampling_options))
        op = self._call(self._gateway.StartEvaluate, request, "Steering/StartEvaluate")
        return Operation(op, self._gateway, self, "Steering")

    def evaluate(self, criterion: str, steering: SteeringLike = None, scales: Sequence[float] = (), *,
                 on_progress: Optional[Callable[[Operation], None]] = None, timeout: Optional[float] = None,
                 **options) -> g.EvaluateResult:
        """start_evaluate, then waits: on_progress(operation) on every change; returns the EvaluateResult."""
        return self.start_evaluate(criterion, steering, scales, **options).wait(timeout, on_progress)

    # -- vectors -------------------------------------------------------------------------------------------------
    def build_vector(self, recipe, vector_id: str = "", *, save: bool = True, overwrite: bool = False,
                     description: str = "", labels: Optional[Mapping[str, str]] = None, kind: str = "add",
                     value: Optional[float] = None, positions: Optional[str] = None) -> Vector:
        """Builds a vector from a recipe of `steering_mesh.recipes` (actadd, caa, caa_mean, sae_decoder, sae_ts,
        fgaa, raw, from_file); stored in the registry unless save=False. `kind`, `value` and `positions` are how
        it is applied by default (sae_feature: an sae_decoder recipe of one feature); a registry vector's strength
        then multiplies the value of clamp, caps and sae_feature."""
        request = recipes.request(recipe, vector_id=vector_id, save=save, overwrite=overwrite,
                                  description=description, labels=labels)
        request.kind = _KINDS[kind]
        if value is not None:
            request.value = value
        if positions is not None:
            request.positions = recipes.POSITIONS[positions]
        r = self._call(self._gateway.BuildVector, request, "Steering/BuildVector")
        return Vector.of(r.vector, saved=save)

    def vectors(self, model_id: str = "", method: str = "", include_data: bool = False) -> List[Vector]:
        """The registry, newest first (method: actadd, caa, caa_mean, sae_decoder, sae_ts, fgaa, imported)."""
        request = v.ListVectorsRequest(model_id=model_id, method=_METHODS[method] if method else 0,
                                       include_data=include_data)
        return [Vector.of(x) for x in self._call(self._gateway.ListVectors, request, "Steering/ListVectors").vectors]

    def vector_info(self, vector_id: str, strength: Optional[float] = None,
                    for_prompt: Optional[PromptLike] = None) -> Vector:
        """A stored vector with its data (vector-service GetVector; without its address, from the gateway's list)."""
        if not self._vectors:
            for x in self.vectors(include_data=True):
                if x.id == vector_id:
                    return x
            raise MeshError(grpc.StatusCode.NOT_FOUND, f"no vector '{vector_id}' in the registry", "ListVectors")
        request = v.GetVectorRequest(id=vector_id)
        if strength is not None:
            request.strength = strength
        if for_prompt is not None:
            request.prompt.CopyFrom(prompt(for_prompt))
        return Vector.of(self._call(self._vectors.GetVector, request, "VectorService/GetVector"))

    def vector(self, vector_id: str) -> np.ndarray:
        """A stored vector as a float32 array: [d_model] ([n, d_model] for ActAdd)."""
        return self.vector_info(vector_id).array

    def delete_vector(self, vector_id: str) -> None:
        stub = self._need(self._vectors, "vector_service", "delete_vector")
        self._call(stub.DeleteVector, v.DeleteVectorRequest(id=vector_id), "VectorService/DeleteVector")

    def export_vector(self, vector_id: str, format: str = "safetensors",
                      scale: Optional[float] = None) -> v.ExportVectorResponse:
        """A stored vector as a file (data, file_name, warnings): "safetensors" or llama.cpp "gguf"."""
        stub = self._need(self._vectors, "vector_service", "export_vector")
        request = v.ExportVectorRequest(id=vector_id, format=v.VectorFileFormat.Value("VECTOR_FILE_FORMAT_" + format.upper()))
        if scale is not None:
            request.scale = scale
        return self._call(stub.ExportVector, request, "VectorService/ExportVector")

    def train_effect_approximator(self, sae_id: str, **options) -> Operation:
        """Starts SAE-TS's effect approximator for an SAE (options: the TrainEffectApproximatorRequest fields)."""
        stub = self._need(self._vectors, "vector_service", "train_effect_approximator")
        op = self._call(stub.StartTrainEffectApproximator, v.TrainEffectApproximatorRequest(sae_id=sae_id, **options),
                        "VectorService/StartTrainEffectApproximator")
        return Operation(op, stub, self, "VectorService")

    def calibrate_scale(self, vector_id: str, **options) -> Operation:
        """Starts a scale calibration of a stored vector (options: the CalibrateScaleRequest fields)."""
        stub = self._need(self._vectors, "vector_service", "calibrate_scale")
        op = self._call(stub.StartCalibrateScale, v.CalibrateScaleRequest(vector_id=vector_id, **options),
                        "VectorService/StartCalibrateScale")
        return Operation(op, stub, self, "VectorService")

    # -- SAEs ----------------------------------------------------------------------------------------------------
    def saes(self, model_id: str = "", hook: str = "") -> List[s.SaeInfo]:
        stub = self._need(self._sae, "sae_service", "saes")
        return list(self._call(stub.ListSaes, s.ListSaesRequest(model_id=model_id, hook=hook), "SaeService/ListSaes").saes)

    def sae_info(self, sae_id: str) -> s.SaeInfo:
        stub = self._need(self._sae, "sae_service", "sae_info")
        return self._call(stub.GetSaeInfo, s.GetSaeInfoRequest(sae_id=sae_id), "SaeService/GetSaeInfo")

    def train_sae(self, hook: str, *, datasets: Sequence[str] = (), texts: Sequence[str] = (),
                  max_documents: int = 0, **options) -> Operation:
        """Starts an SAE training on sae-service over datasets of the service (e.g. "tinystories-1000") and/or
        texts; options: the TrainSaeRequest fields (sae_id, d_sae, k, epochs, steps, max_tokens, ...)."""
        stub = self._need(self._sae, "sae_service", "train_sae")
        corpus = [s.CorpusSource(dataset=d, max_documents=max_documents) for d in datasets]
        if texts:
            corpus.append(s.CorpusSource(texts=s.TextList(texts=list(texts))))
        request = s.TrainSaeRequest(hook=c.HookPoint(name=hook), corpus=corpus, **options)
        return Operation(self._call(stub.StartTrainSae, request, "SaeService/StartTrainSae"), stub, self, "SaeService")

    def _sae_input(self, x) -> s.SaeInput:
        if isinstance(x, c.Tensor):
            return s.SaeInput(activations=x)
        if isinstance(x, np.ndarray):
            return s.SaeInput(activations=to_tensor(x, None if x.dtype == np.float16 else "float32"))
        texts = [x] if isinstance(x, (str, c.Prompt)) else list(x)
        return s.SaeInput(texts=s.TextInputs(prompts=[prompt(t) for t in texts]))

    def encode(self, sae_id: str, x, reduction: Optional[str] = None, top_k: int = 0) -> np.ndarray:
        """SAE feature activations, float32 [rows, d_sae], of activations ([n, d_in] or [d_in]; float32 or float16)
        or of texts (captured at the SAE's hook, BOS left out). reduction: "mean" or "max" over the tokens (per
        text for texts); top_k > 0 keeps each row's top_k features (the rest zero)."""
        stub = self._need(self._sae, "sae_service", "encode")
        r = self._call(stub.Encode, s.EncodeRequest(sae_id=sae_id, input=self._sae_input(x),
                                                     reduction=_REDUCTIONS[reduction], top_k=top_k),
                       "SaeService/Encode")
        if not top_k:
            return from_tensor(r.features)
        dense = np.zeros((r.rows, self.sae_info(sae_id).d_sae), dtype=np.float32)
        offsets = list(r.sparse.offsets)
        for row in range(r.rows):
            lo, hi = offsets[row], offsets[row + 1]
            dense[row, list(r.sparse.indices[lo:hi])] = list(r.sparse.values[lo:hi])
        return dense

    def decode(self, sae_id: str, features: np.ndarray) -> np.ndarray:
        """f W_dec + b_dec: float32 [n, d_in] of features [n, d_sae] or [d_sae]."""
        stub = self._need(self._sae, "sae_service", "decode")
        f = features if isinstance(features, c.Tensor) else np.asarray(features)
        dense = f if isinstance(f, c.Tensor) else to_tensor(f, None if f.dtype == np.float16 else "float32")
        request = s.DecodeRequest(sae_id=sae_id, dense=dense)
        return from_tensor(self._call(stub.Decode, request, "SaeService/Decode").reconstruction)

    def feature_directions(self, sae_id: str, features: Sequence[int] = (), normalize: bool = False) -> np.ndarray:
        """Rows of W_dec, float32 [n, d_in] (what SAE decoder steering adds)."""
        stub = self._need(self._sae, "sae_service", "feature_directions")
        r = self._call(stub.FeatureDirections, s.FeatureDirectionsRequest(sae_id=sae_id, features=list(features),
                                                                          normalize=normalize),
                       "SaeService/FeatureDirections")
        return from_tensor(r.directions)

    def search_features(self, sae_id: str, text: PromptLike, top_k: int = 10, *, reduction: Optional[str] = None,
                        max_density: Optional[float] = None, top_contexts: Optional[int] = None,
                        exclude_bos_features: bool = False) -> List[s.SearchFeatureHit]:
        """The features most active on a text (mean, or "max", over its non-BOS tokens), with their statistics
        and top contexts (`hit.stat.top_contexts`, the token marked [[like this]])."""
        stub = self._need(self._sae, "sae_service", "search_features")
        request = s.SearchFeaturesRequest(sae_id=sae_id, prompt=prompt(text), top_k=top_k,
                                          reduction=_REDUCTIONS[reduction] if reduction else 0,
                                          exclude_bos_features=exclude_bos_features)
        if max_density is not None:
            request.max_density = max_density
        if top_contexts is not None:
            request.top_contexts = top_contexts
        return list(self._call(stub.SearchFeatures, request, "SaeService/SearchFeatures").hits)
