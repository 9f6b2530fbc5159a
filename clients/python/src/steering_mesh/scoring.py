"""Log-probabilities (Score, and generation with `logprobs=True`) and conditional steering (CAST conditions)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from steering_mesh.proto import common_pb2 as c
from steering_mesh.tensors import DTypeLike, to_tensor

_COMPARISONS = {"greater": c.GREATER, "less": c.LESS}


@dataclass
class Alternative:
    """One of the most likely tokens at a step."""
    token_id: int
    token: str
    logprob: float


@dataclass
class TokenLogprob:
    """A generated token's log-probability (log-softmax of the logits, steered when the request steers; before
    temperature, top-k and top-p) and the most likely alternatives at its step (`top_logprobs=`)."""
    token_id: int
    token: str
    logprob: float
    top: List[Alternative] = field(default_factory=list)


def token_logprobs(protos) -> List[TokenLogprob]:
    return [TokenLogprob(t.token_id, t.token, t.logprob, [Alternative(a.token_id, a.token, a.logprob) for a in t.top])
            for t in protos]


@dataclass
class ConditionResult:
    """How a conditional intervention was decided: the cosine of the prompt's mean residual with the direction."""
    intervention: int
    cosine: float
    met: bool


def condition_results(protos) -> List[ConditionResult]:
    return [ConditionResult(r.intervention, r.cosine, r.met) for r in protos]


@dataclass
class Condition:
    """CAST (Lee et al. 2024): steer the generated tokens only when cos(mean over the prompt of the residual at
    `hook`, direction) is greater (or, with comparison="less", less) than `threshold` in [-1, 1]; decided once per
    generation, after the prompt is read. `direction`: a numpy [d_model], not zero."""
    direction: np.ndarray
    hook: str
    threshold: float = 0.0
    comparison: str = "greater"
    dtype: DTypeLike = "float32"

    def proto(self) -> c.Condition:
        if self.comparison not in _COMPARISONS:
            raise ValueError(f"comparison must be one of {sorted(_COMPARISONS)}, not {self.comparison!r}")
        return c.Condition(hook=c.HookPoint(name=self.hook), direction=to_tensor(self.direction, self.dtype),
                           threshold=self.threshold, comparison=_COMPARISONS[self.comparison])


@dataclass
class Score:
    """log p of each continuation token given everything before it (model-service Score)."""
    token_ids: List[int]
    logprobs: np.ndarray
    total_logprob: float
    greedy_token_ids: List[int]
    prompt_tokens: int

    @property
    def mean_logprob(self) -> Optional[float]:
        return float(self.logprobs.mean()) if len(self.logprobs) else None
