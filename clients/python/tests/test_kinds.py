"""Every intervention kind from Python against the live mesh (scripts/e2e.sh): an SAE feature named by id and index,
vectors stored with a kind and a value, and what scale and strength mean per kind."""
import grpc
import numpy as np
import pytest

from steering_mesh import Feature, MeshError, Steer, recipes
from conftest import HOOK

STORY = "Once upon a time"
OPTS = dict(max_tokens=20, ignore_eos=True)


def test_an_sae_feature_steers_by_its_value_and_as_a_stored_vector(mesh, sae):
    hit = mesh.search_features(sae.id, "The dog barked at the cat", top_k=1)[0]
    plain = mesh.generate(STORY, **OPTS).text
    steered = mesh.generate(STORY, Steer(Feature(sae.id, hit.feature), value=12.0), **OPTS).text
    assert steered != plain
    # the spec's scale is the feature's value
    assert mesh.generate(STORY, Steer(Feature(sae.id, hit.feature), value=1.0, scale=12.0), **OPTS).text == steered
    stored = mesh.build_vector(recipes.sae_decoder(sae.id, {hit.feature: 1.0}), "py-feature", overwrite=True,
                               kind="sae_feature", value=24.0)
    assert (stored.kind, stored.value, stored.hook) == ("sae_feature", 24.0, HOOK)
    # strength multiplies the stored value: 0.5 x 24 = 12
    assert mesh.generate(STORY, Steer("py-feature", strength=0.5), **OPTS).text == steered
    iv = mesh.vector_info("py-feature").proto.intervention
    assert iv.kind == 5 and iv.value == 24.0 and iv.sae_feature.feature == hit.feature and iv.sae_feature.HasField("encoder")


def test_stored_kinds_and_their_magnitudes(mesh):
    vec = mesh.build_vector(recipes.caa_mean(HOOK, ["I love dogs"], ["I hate cats"]), "py-clamp", overwrite=True,
                            kind="clamp", value=3.0, positions="generated_only")
    assert (vec.kind, vec.value, vec.positions) == ("clamp", 3.0, "generated_only")
    doubled = mesh.vector_info("py-clamp", strength=2.0).proto.intervention
    assert doubled.value == 6.0 and not doubled.HasField("scale")
    # through model-service directly, the same rule: scale sets the value
    assert Steer(vec, scale=-1.5).intervention().value == -1.5
    ablate = mesh.build_vector(recipes.caa_mean(HOOK, ["I love dogs"], ["I hate cats"]), "py-ablate", overwrite=True,
                               kind="ablate")
    assert Steer(ablate, scale=0.0).intervention() is None
    with pytest.raises(ValueError, match="ablate"):
        Steer(ablate, strength=0.5).intervention()
    plain = mesh.generate(STORY, **OPTS).text
    assert mesh.generate(STORY, Steer("py-ablate", scale=0.0), **OPTS).text == plain
    with pytest.raises(MeshError) as e:
        mesh.export_vector("py-clamp", format="gguf")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "only ADD" in e.value.message


def test_bad_features_name_the_field(mesh, sae):
    with pytest.raises(MeshError) as e:
        mesh.generate(STORY, Steer(Feature(sae.id, sae.d_sae), value=1.0), max_tokens=2)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.message.startswith("steering[0].intervention.sae_feature.feature"), e.value.message
    with pytest.raises(MeshError) as e:
        mesh.generate(STORY, Steer(Feature(sae.id, 0)), max_tokens=2)
    assert "steering[0].intervention.value" in e.value.message
    with pytest.raises(TypeError, match="resolved by the gateway"):
        Steer(Feature(sae.id, 0), value=1.0).intervention()
