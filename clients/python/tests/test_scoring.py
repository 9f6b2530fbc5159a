"""Score, log-probabilities in generation and conditional steering (CAST) through the client, on the live
stories260K mesh of scripts/e2e.sh."""
import grpc
import numpy as np
import pytest

from steering_mesh import Condition, MeshError, Score, Steer, recipes
from conftest import HOOK
from test_mesh import PRE, STORY, U


def test_score_gives_each_continuation_tokens_logprob(mesh):
    s = mesh.score(STORY, ", there was a little girl")
    assert isinstance(s, Score) and s.prompt_tokens == len(mesh.tokenize(STORY).ids)
    assert len(s.token_ids) == len(s.logprobs) == len(s.greedy_token_ids) > 0
    assert s.logprobs.dtype == np.float32 and (s.logprobs <= 0).all()
    assert s.total_logprob == pytest.approx(float(s.logprobs.astype(np.float64).sum()), abs=1e-4)
    assert s.mean_logprob == pytest.approx(s.total_logprob / len(s.logprobs), abs=1e-5)
    # token ids in score the same as the text
    assert mesh.score(STORY, s.token_ids).total_logprob == pytest.approx(s.total_logprob, abs=1e-5)
    # steering changes the model's distribution
    assert mesh.score(STORY, s.token_ids, steering=Steer(U, hook=PRE, scale=8.0)).total_logprob != pytest.approx(s.total_logprob, abs=1e-3)


def test_a_greedy_continuation_is_its_own_greedy_choice_with_the_logprobs_generate_reported(mesh):
    g = mesh.generate(STORY, max_tokens=10, ignore_eos=True, top_logprobs=3)
    assert len(g.logprobs) == len(g.token_ids) == 10
    for chosen, t in zip(g.token_ids, g.logprobs):
        assert t.token_id == chosen and len(t.top) == 3
        assert t.top[0].token_id == chosen, "greedy picks the most likely token"
        assert t.logprob == pytest.approx(t.top[0].logprob) and t.top[0].logprob >= t.top[1].logprob >= t.top[2].logprob
    s = mesh.score(STORY, g.token_ids)
    assert s.greedy_token_ids == g.token_ids
    # close, not equal: a lone sequence decodes with int8 weight copies, Score runs PyTorch's float products
    # (docs/design.md, "int8 single-sequence decode")
    np.testing.assert_allclose(s.logprobs, [t.logprob for t in g.logprobs], atol=0.05)
    # streamed: each chunk carries its tokens' entries
    chunks = list(mesh.generate_stream(STORY, max_tokens=10, ignore_eos=True, logprobs=True))
    assert [t.token_id for ch in chunks for t in ch.logprobs] == g.token_ids
    assert all(t.top == [] for ch in chunks for t in ch.logprobs)
    assert mesh.generate(STORY, max_tokens=4).logprobs == [], "none unless asked for"


def test_a_condition_steers_only_when_the_prompt_meets_it(mesh):
    plain = mesh.generate(STORY, max_tokens=16, ignore_eos=True)
    from_first_new_token = mesh.generate(STORY, Steer(U, hook=PRE, scale=6.0, positions="generated_only"), max_tokens=16, ignore_eos=True)
    assert from_first_new_token.text != plain.text
    direction = mesh.capture(STORY, HOOK, mean=True)
    met = mesh.generate(STORY, Steer(U, hook=PRE, scale=6.0, condition=Condition(direction, HOOK, threshold=-0.5)),
                        max_tokens=16, ignore_eos=True)
    assert len(met.conditions) == 1 and met.conditions[0].intervention == 0 and met.conditions[0].met
    assert met.conditions[0].cosine > 0.9, "the prompt's own mean residual"
    assert met.text == from_first_new_token.text
    not_met = mesh.generate(STORY, Steer(U, hook=PRE, scale=6.0, condition=Condition(direction, HOOK, threshold=0.5, comparison="less")),
                            max_tokens=16, ignore_eos=True)
    assert not not_met.conditions[0].met and not_met.text == plain.text
    # a stored Vector with its data carries the condition inline
    love = mesh.build_vector(recipes.caa_mean(PRE, ["I love dogs."], ["I hate rain."]), "py-conditional", overwrite=True)
    info = mesh.vector_info(love.id)
    gated = mesh.generate(STORY, Steer(info, scale=6.0, condition=Condition(direction, HOOK, threshold=0.99, comparison="greater")), max_tokens=8)
    assert len(gated.conditions) == 1 and gated.conditions[0].cosine == pytest.approx(met.conditions[0].cosine, abs=1e-6)


def test_bad_conditions_raise_with_the_field(mesh):
    direction = mesh.capture(STORY, HOOK, mean=True)
    with pytest.raises(MeshError) as bad:
        mesh.generate(STORY, Steer(U, hook=PRE, condition=Condition(direction, HOOK, threshold=2.0)), max_tokens=2)
    assert bad.value.code == grpc.StatusCode.INVALID_ARGUMENT and "condition.threshold" in bad.value.message
    with pytest.raises(ValueError, match="comparison"):
        Condition(direction, HOOK, comparison="above").proto()
    with pytest.raises(ValueError, match="needs the vector's data"):
        Steer("some-registry-id", condition=Condition(direction, HOOK)).spec()
    with pytest.raises(MeshError) as scored:
        mesh.score(STORY, " there", steering=Steer(U, hook=PRE, condition=Condition(direction, HOOK)))
    assert scored.value.code == grpc.StatusCode.INVALID_ARGUMENT and "condition" in scored.value.message
