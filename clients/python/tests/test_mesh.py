"""The client against a live mesh on stories260K (model-service, sae-service, vector-service, gateway), started by
scripts/e2e.sh. Every call of `Mesh`, the numpy round trip per dtype through the services, steering that changes
the text, and the services' errors as MeshError."""
import os

import grpc
import numpy as np
import pytest

from steering_mesh import Mesh, MeshError, Steer, float32_to_bfloat16_bits, bfloat16_bits_to_float32, recipes
from steering_mesh import to_tensor
from conftest import HOOK

PRE = "blocks.2.hook_resid_pre"
# a fixed direction in stories260K's 64-dim residual stream
U = np.array([((i * 37) % 11 - 5) / 5.0 for i in range(64)], dtype=np.float32)
STORY = "Once upon a time"


def test_info(mesh):
    info = mesh.info()
    assert (info.model_id, info.d_model, info.n_layers) == ("stories260K-hf", 64, 5)
    assert HOOK in info.hook_points and PRE in info.hook_points


def test_tokenize_and_detokenize(mesh):
    t = mesh.tokenize(STORY)
    assert t.tokens == ["<s>", "Once", "upon", "a", "time"] and t.ids[0] == 1 and len(t.ids) == 5
    assert mesh.detokenize(t.ids[1:]) == STORY
    assert mesh.tokenize(STORY, add_bos=False).ids == t.ids[1:]


def test_capture_shapes_and_reductions(mesh):
    per_token = mesh.capture(STORY, HOOK)
    assert per_token.shape == (5, 64) and per_token.dtype == np.float32
    mean = mesh.capture(STORY, HOOK, mean=True, exclude_bos=True)
    assert mean.shape == (64,)
    np.testing.assert_allclose(mean, per_token[1:].mean(axis=0), rtol=1e-5, atol=1e-5)
    both = mesh.capture([STORY, "The dog"], [PRE, HOOK], exclude_bos=True)
    assert [sorted(d) for d in both] == [sorted([PRE, HOOK])] * 2
    assert both[0][HOOK].shape == (4, 64) and both[1][PRE].shape == (len(mesh.tokenize("The dog").ids) - 1, 64)
    np.testing.assert_array_equal(both[0][HOOK], per_token[1:])
    assert mesh.capture(STORY, HOOK, positions=[-1]).shape == (1, 64)


def test_capture_under_steering_adds_the_vector_at_its_hook(mesh):
    plain = mesh.capture(STORY, PRE)
    steered = mesh.capture(STORY, PRE, steering=Steer(U, hook=PRE, scale=2.0))
    np.testing.assert_allclose(steered - plain, np.tile(2.0 * U, (5, 1)), atol=1e-5)


def test_generate_blocking_and_streaming_agree(mesh):
    g = mesh.generate(STORY, max_tokens=16, ignore_eos=True)
    assert g.text.startswith(", there was") and g.finish_reason == "length"
    assert (g.prompt_tokens, g.completion_tokens, len(g.token_ids)) == (5, 16, 16)
    assert g.prompt_token_ids == mesh.tokenize(STORY).ids
    chunks = list(mesh.generate_stream(STORY, max_tokens=16, ignore_eos=True))
    assert "".join(c.text for c in chunks) == g.text
    assert sum((c.token_ids for c in chunks), []) == g.token_ids
    assert chunks[-1].finish_reason == "length" and all(c.finish_reason is None for c in chunks[:-1])


def test_stream_can_be_abandoned(mesh):
    stream = mesh.generate_stream(STORY, max_tokens=200, ignore_eos=True)
    first = [next(stream), next(stream)]
    stream.close()
    assert len(first) == 2 and mesh.generate(STORY, max_tokens=2).text


def test_steered_generation_differs_and_scale_zero_does_not(mesh):
    plain = mesh.generate(STORY, max_tokens=24, ignore_eos=True).text
    assert mesh.generate(STORY, Steer(U, hook=PRE, scale=0.0), max_tokens=24, ignore_eos=True).text == plain
    steered = mesh.generate(STORY, Steer(U, hook=PRE, scale=4.0), max_tokens=24, ignore_eos=True).text
    assert steered != plain


def test_compare_shares_seeds_across_labels(mesh):
    configs = {"plain": None, "steered": Steer(U, hook=PRE, scale=4.0)}
    options = dict(samples=2, max_tokens=16, temperature=0.8, seed=11, ignore_eos=True)
    rows = mesh.compare(STORY, configs, **options)
    assert [(r.label, r.sample, r.seed) for r in rows] == [("plain", 0, 11), ("plain", 1, 12), ("steered", 0, 11),
                                                           ("steered", 1, 12)]
    assert [r.text for r in mesh.compare(STORY, configs, **options)] == [r.text for r in rows]
    by = {(r.label, r.sample): r for r in rows}
    assert by[("plain", 0)].text != by[("plain", 1)].text and by[("steered", 0)].text != by[("plain", 0)].text
    assert all(r.finish_reason == "length" and len(r.token_ids) == 16 for r in rows)
    greedy = mesh.compare(STORY, configs, max_tokens=16, ignore_eos=True)
    assert greedy[0].text == mesh.generate(STORY, max_tokens=16, ignore_eos=True).text != greedy[1].text


def test_caa_mean_equals_the_same_arithmetic_on_captured_activations(mesh):
    pos, neg = ["I love dogs", "Dogs are great"], ["I hate cats", "Cats are bad"]
    vec = mesh.build_vector(recipes.caa_mean(HOOK, pos, neg), "py-caa-mean", overwrite=True)
    assert (vec.method, vec.positions, vec.hook, vec.saved) == ("caa_mean", "all", HOOK, True)
    means = lambda texts: np.mean([a.mean(axis=0) for a in mesh.capture(texts, HOOK)], axis=0)
    want = means(pos) - means(neg)
    np.testing.assert_allclose(vec.array, want / np.linalg.norm(want), atol=1e-5)
    assert vec.norm == pytest.approx(1.0, abs=1e-6)


def test_actadd_caa_raw_and_file_recipes(mesh):
    act = mesh.build_vector(recipes.actadd("blocks.1.hook_resid_pre", "Lily was happy", "Lily was sad",
                                           coefficient=4), "py-actadd", overwrite=True)
    assert act.array.shape == (5, 64) and act.positions == "prompt_front" and act.default_scale == 4.0
    assert not act.array[0].any()  # the BOS rows cancel
    items = [("Do you like dogs?\n\nChoices:\n (A) Yes\n (B) No", " (A)", " (B)"),
             ("Do you like rain?\n\nChoices:\n (A) No\n (B) Yes", " (B)", " (A)")]
    caa = mesh.build_vector(recipes.caa(HOOK, items, multiplier=2.0), "py-caa", overwrite=True)
    assert (caa.method, caa.positions, caa.default_scale) == ("caa", "from_index", 2.0) and caa.norm > 0
    on_file = mesh.build_vector(recipes.caa(HOOK, dataset="anthropic-evals-advanced-ai-risk/human_generated_evals/"
                                            "survival-instinct.jsonl", max_items=4), save=False)
    assert not on_file.saved and on_file.array.shape == (64,) and on_file.proto.metadata
    raw = mesh.build_vector(recipes.raw(PRE, U, default_scale=3.0), "py-raw", overwrite=True)
    assert raw.method == "imported" and raw.array.tobytes() == U.tobytes()
    exported = mesh.export_vector("py-raw")
    assert exported.file_name == "py-raw.safetensors"
    again = mesh.build_vector(recipes.from_file(exported.data), "py-raw-file", overwrite=True)
    assert again.array.tobytes() == U.tobytes() and (again.hook, again.default_scale) == (PRE, 3.0)


def test_sae_based_recipes(mesh, sae, approximator):
    hit = mesh.search_features(sae.id, "The dog barked at the cat", top_k=1)[0]
    dec = mesh.build_vector(recipes.sae_decoder(sae.id, {hit.feature: 1.0}), "py-sae-decoder", overwrite=True)
    row = mesh.feature_directions(sae.id, [hit.feature])[0]
    np.testing.assert_allclose(dec.array, row / np.linalg.norm(row), atol=1e-6)
    assert (dec.hook, dec.features) == (HOOK, {hit.feature: 1.0})
    ts = mesh.build_vector(recipes.sae_ts(approximator.id, [hit.feature]), "py-sae-ts", overwrite=True)
    assert ts.method == "sae_ts" and ts.norm == pytest.approx(1.0, abs=1e-6) and ts.features == {hit.feature: 1.0}
    fgaa = mesh.build_vector(recipes.fgaa(approximator.id, ["The dog barked", "A dog ran"],
                                          ["The cat slept", "A cat sat"], max_density=0.5, n_pos=3), "py-fgaa",
                             overwrite=True)
    assert fgaa.method == "fgaa" and len(fgaa.features) == 3 and fgaa.norm == pytest.approx(1.0, abs=1e-6)


def test_registry_reads(mesh):
    built = mesh.build_vector(recipes.raw(PRE, 2 * U), "py-registry", overwrite=True, labels={"by": "pytest"})
    np.testing.assert_array_equal(mesh.vector("py-registry"), built.array)
    info = mesh.vector_info("py-registry", strength=2.0)
    assert info.proto.intervention.scale == 2.0 and info.proto.labels["by"] == "pytest"
    listed = {v.id: v for v in mesh.vectors(method="imported")}
    assert "py-registry" in listed and listed["py-registry"].array is None
    with Mesh(os.environ["MESH_GATEWAY"]) as gateway_only:  # no vector-service address: through ListVectors
        np.testing.assert_array_equal(gateway_only.vector("py-registry"), built.array)
    mesh.delete_vector("py-registry")
    with pytest.raises(MeshError) as e:
        mesh.vector("py-registry")
    assert e.value.code == grpc.StatusCode.NOT_FOUND and "py-registry" in e.value.message


def test_steering_by_registry_id_and_by_recipe(mesh):
    mesh.build_vector(recipes.raw(PRE, U, default_scale=4.0), "py-steer", overwrite=True)
    plain = mesh.generate(STORY, max_tokens=20, ignore_eos=True).text
    inline = mesh.generate(STORY, Steer(U, hook=PRE, scale=4.0), max_tokens=20, ignore_eos=True).text
    by_id = mesh.generate(STORY, "py-steer", max_tokens=20, ignore_eos=True).text  # strength 1 = default scale 4
    assert by_id == inline != plain
    assert mesh.generate(STORY, mesh.vector_info("py-steer").steer(strength=0.0), max_tokens=20,
                         ignore_eos=True).text == plain
    recipe = recipes.raw(PRE, U)
    assert mesh.generate(STORY, Steer(recipe, scale=4.0), max_tokens=20, ignore_eos=True).text == inline


def test_every_dtype_reaches_the_services_bit_for_bit(mesh):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(64).astype(np.float32)
    f32 = mesh.build_vector(recipes.raw(PRE, x), save=False)
    assert f32.array.tobytes() == x.tobytes()
    f16 = mesh.build_vector(recipes.raw(PRE, x.astype(np.float16)), save=False)
    assert f16.array.tobytes() == x.astype(np.float16).astype(np.float32).tobytes()
    bf16 = mesh.build_vector(recipes.raw(PRE, x, dtype="bfloat16"), save=False)
    assert bf16.array.tobytes() == bfloat16_bits_to_float32(float32_to_bfloat16_bits(x)).tobytes()
    assert not np.array_equal(bf16.array, x)
    # the same bfloat16 values steer identically whether sent as BFLOAT16 or as FLOAT32
    as_bf16 = mesh.generate(STORY, Steer(x, hook=PRE, scale=3.0, dtype="bfloat16"), max_tokens=16, ignore_eos=True)
    as_f32 = mesh.generate(STORY, Steer(bf16.array, hook=PRE, scale=3.0), max_tokens=16, ignore_eos=True)
    assert as_bf16.token_ids == as_f32.token_ids


def test_encode_decode(mesh, sae):
    x = mesh.capture("The dog barked at the cat", HOOK, exclude_bos=True)
    f = mesh.encode(sae.id, x)
    assert f.shape == (len(mesh.tokenize("The dog barked at the cat").ids) - 1, sae.d_sae) and f.dtype == np.float32
    assert ((f > 0).sum(axis=1) <= sae.k).all() and (f >= 0).all()
    from_text = mesh.encode(sae.id, "The dog barked at the cat")
    np.testing.assert_allclose(from_text, f, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(mesh.encode(sae.id, ["The dog barked at the cat"], reduction="mean")[0],
                               f.mean(axis=0), rtol=1e-4, atol=1e-5)
    half = mesh.encode(sae.id, x.astype(np.float16))
    np.testing.assert_array_equal(half, mesh.encode(sae.id, x.astype(np.float16).astype(np.float32)))
    top2 = mesh.encode(sae.id, x, top_k=2)
    assert ((top2 > 0).sum(axis=1) <= 2).all()
    np.testing.assert_allclose(np.sort(top2, axis=1)[:, -2:], np.sort(f, axis=1)[:, -2:], rtol=1e-5)
    x_hat = mesh.decode(sae.id, f)
    assert x_hat.shape == x.shape
    assert np.linalg.norm(x_hat - x) < 0.9 * np.linalg.norm(x - x.mean(axis=0))  # better than the mean
    w_dec = mesh.feature_directions(sae.id)
    b_dec = mesh.decode(sae.id, np.zeros(sae.d_sae, np.float32))[0]
    np.testing.assert_allclose(x_hat, f @ w_dec + b_dec, rtol=1e-4, atol=1e-4)


def test_search_features(mesh, sae):
    text = "The dog barked at the cat"
    hits = mesh.search_features(sae.id, text, top_k=5, top_contexts=2)
    assert len(hits) == 5 and [h.activation for h in hits] == sorted((h.activation for h in hits), reverse=True)
    mean = mesh.encode(sae.id, [text], reduction="mean")[0]
    assert [h.feature for h in hits] == list(np.argsort(-mean, kind="stable")[:5])
    assert hits[0].activation == pytest.approx(mean[hits[0].feature], rel=1e-4)
    assert hits[0].stat.density > 0 and "[[" in hits[0].stat.top_contexts[0].text


def test_sae_listing_and_training_operation(mesh, training, sae):
    op, result, updates = training
    assert op.done and op.state == "succeeded" and op.kind == "TrainSae"
    assert updates and updates[-1][0] == "succeeded" and updates[-1][1] == 1.0
    assert any(state == "running" for state, _, _ in updates)
    assert (sae.id, sae.d_in, sae.d_sae, sae.k, sae.hook.name) == ("py-tiny", 64, 128, 8, HOOK)
    assert 0.2 < result.metrics.variance_explained <= 1.0 and sae.has_feature_stats
    assert "py-tiny" in [s.id for s in mesh.saes()] and mesh.sae_info("py-tiny").d_sae == 128
    assert op.refresh().state == "succeeded"


def test_evaluate_with_progress(mesh):
    seen = []
    result = mesh.evaluate("The text is about a dog.", Steer(U, hook=PRE), [0.0, 4.0], text=STORY, samples=2,
                           max_tokens=12, temperature=0.8, seed=1, on_progress=lambda op: seen.append(op.progress))
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    assert [(p.label, p.scale) for p in result.points] == [("steered", 0.0), ("steered", 4.0)]
    for p in result.points:
        assert len(p.samples) == 2 and 0 <= p.behaviour <= 1 and 0 < p.coherence <= 1
        assert p.product == pytest.approx(p.behaviour * p.coherence, rel=1e-6)
    assert result.best[0].label == "steered" and result.criterion == "The text is about a dog."


def test_a_failed_operation_raises_its_code(mesh, sae):
    with pytest.raises(MeshError) as e:  # refused at the start
        mesh.train_sae(HOOK, texts=["Once upon a time"], sae_id=sae.id, d_sae=128, k=8)
    assert e.value.code == grpc.StatusCode.ALREADY_EXISTS and sae.id in e.value.message
    op = mesh.train_sae(HOOK, texts=["Once"], sae_id="py-too-short", d_sae=128, k=8)  # fails while running
    with pytest.raises(MeshError) as e:
        op.wait(timeout=60)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "corpus: the corpus gives 0 windows" in e.value.message
    assert op.state == "failed" and op.id in e.value.method


def test_bad_input_raises_with_the_services_status_and_message(mesh, sae):
    cases = [
        (lambda: mesh.generate(STORY, Steer(U, hook="blocks.99.hook_resid_pre"), max_tokens=4),
         grpc.StatusCode.INVALID_ARGUMENT, "steering[0].intervention.hook.name: hook point 'blocks.99.hook_resid_pre'"),
        (lambda: mesh.generate(STORY, Steer(U[:10], hook=PRE), max_tokens=4),
         grpc.StatusCode.INVALID_ARGUMENT, "steering[0].intervention.vector: shape [10] does not fit d_model 64"),
        (lambda: mesh.generate(STORY, "py-no-such-vector", max_tokens=4),
         grpc.StatusCode.NOT_FOUND, "vector 'py-no-such-vector' does not exist"),
        (lambda: mesh.capture(STORY, "blocks.9.hook_resid_post"),
         grpc.StatusCode.INVALID_ARGUMENT, "hooks[0].name"),
        (lambda: mesh.encode(sae.id, np.zeros((2, 7), np.float32)),
         grpc.StatusCode.INVALID_ARGUMENT, "input.activations: shape [2, 7] does not fit the SAE's d_in 64"),
        (lambda: mesh.build_vector(recipes.caa_mean(HOOK, [], ["x"])),
         grpc.StatusCode.INVALID_ARGUMENT, "caa_mean.positive"),
        (lambda: mesh.train_sae(HOOK, datasets=["nope"]),
         grpc.StatusCode.INVALID_ARGUMENT, "corpus[0].dataset: no dataset 'nope'"),
    ]
    for call, code, message in cases:
        with pytest.raises(MeshError) as e:
            call()
        assert e.value.code == code and message in e.value.message, e.value
        assert code.name in str(e.value)


def test_an_unreachable_service_is_unavailable():
    with Mesh("127.0.0.1:1", timeout=5) as nowhere:
        with pytest.raises(MeshError) as e:
            nowhere.info()
    assert e.value.code == grpc.StatusCode.UNAVAILABLE and e.value.method == "Steering/GetModelInfo"


def test_calls_that_need_another_address_say_so():
    with Mesh("127.0.0.1:1") as gateway_only:
        with pytest.raises(ValueError, match="tokenize needs model-service"):
            gateway_only.tokenize("x")
        with pytest.raises(ValueError, match="encode needs sae-service"):
            gateway_only.encode("x", np.zeros(64, np.float32))


def test_tensor_helpers_are_the_wire_format(mesh):
    t = to_tensor(U)
    assert (list(t.shape), len(t.data)) == ([64], 256) and t.data == U.astype("<f4").tobytes()


def test_an_operation_can_be_cancelled(mesh):
    op = mesh.start_evaluate("The text is about a dog.", Steer(U, hook=PRE), [0.0, 1.0, 2.0, 4.0, 8.0], text=STORY,
                             samples=64, max_tokens=64)
    assert op.kind == "Evaluate" and not op.done
    op.cancel()
    with pytest.raises(MeshError) as e:
        op.wait(timeout=60)
    assert e.value.code == grpc.StatusCode.CANCELLED and op.state == "cancelled"
