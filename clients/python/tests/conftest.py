"""Fixtures for the live tests: a mesh on stories260K started by scripts/e2e.sh, whose addresses come from
MESH_GATEWAY, MESH_MODEL_SERVICE, MESH_SAE_SERVICE, MESH_VECTOR_SERVICE; one tiny SAE and one effect approximator
trained through the client at the start (about 15 s)."""
import os

import pytest

from steering_mesh import Mesh

HOOK = "blocks.2.hook_resid_post"


def address(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the live tests through scripts/e2e.sh")
    return value


@pytest.fixture(scope="session")
def mesh():
    with Mesh(address("MESH_GATEWAY"), model_service=address("MESH_MODEL_SERVICE"),
              sae_service=address("MESH_SAE_SERVICE"), vector_service=address("MESH_VECTOR_SERVICE"),
              timeout=120) as m:
        yield m


@pytest.fixture(scope="session")
def training(mesh):
    """A TopK SAE (d_sae 128, k 8) on 4,000 TinyStories tokens at blocks.2's output, with the operations seen."""
    updates = []
    op = mesh.train_sae(HOOK, datasets=["tinystories-1000"], max_documents=20, sae_id="py-tiny", d_sae=128, k=8,
                        max_tokens=4000, epochs=4, spliced_loss_windows=0, top_contexts=4, seed=1, overwrite=True)
    result = op.wait(timeout=300, on_progress=lambda o: updates.append((o.state, o.progress, o.message)))
    return op, result, updates


@pytest.fixture(scope="session")
def sae(training):
    return training[1].sae


@pytest.fixture(scope="session")
def approximator(mesh, sae):
    """An SAE-TS effect approximator for that SAE, as small as the service allows (16 decoder directions)."""
    op = mesh.train_effect_approximator(sae.id, approximator_id="py-tiny-effects", decoder_directions=16,
                                        mixture_directions=0, fixed_scale=4.0, prompts=["Once upon a time", "I think"],
                                        samples_per_prompt=1, baseline_samples_per_prompt=2, sequence_length=12,
                                        validation_fraction=0.0, overwrite=True)
    return op.wait(timeout=300)
