"""Python clients against a running gateway: the official `openai` client on the OpenAI-compatible HTTP API, and
plain grpcio with the stubs packaged in steering_mesh.proto on the gRPC API. Run by scripts/e2e.sh (which starts
the mesh on stories260K).

    GATEWAY_HTTP=http://127.0.0.1:8080 GATEWAY_GRPC=127.0.0.1:50050 pytest clients/python
"""
import base64
import os
import struct

import pytest
from openai import OpenAI, BadRequestError

HTTP = os.environ.get("GATEWAY_HTTP", "http://127.0.0.1:8080")
GRPC = os.environ.get("GATEWAY_GRPC", "127.0.0.1:50050")

# a fixed direction in stories260K's 64-dim residual stream, added at blocks.2.hook_resid_pre
VECTOR = [((i * 37) % 11 - 5) / 5.0 for i in range(64)]


def steering_json(scale):
    data = base64.b64encode(struct.pack("<64f", *VECTOR)).decode()
    return [{"intervention": {"hook": {"name": "blocks.2.hook_resid_pre"},
                              "vector": {"shape": ["64"], "dtype": "FLOAT32", "data": data},
                              "positions": "ALL"},
             "scale": scale}]


@pytest.fixture(scope="module")
def client():
    return OpenAI(base_url=HTTP + "/v1", api_key=os.environ.get("GATEWAY_API_KEY", "unused"))


def test_models_lists_the_served_model(client):
    ids = [m.id for m in client.models.list().data]
    assert ids == ["stories260K-hf"]


def test_completion_greedy_is_deterministic(client):
    a = client.completions.create(model="stories260K-hf", prompt="Once upon a time", max_tokens=16, temperature=0)
    b = client.completions.create(model="stories260K-hf", prompt="Once upon a time", max_tokens=16, temperature=0)
    assert a.choices[0].text == b.choices[0].text
    assert a.choices[0].text.startswith(", there was")
    assert a.usage.completion_tokens == 16
    assert a.choices[0].finish_reason == "length"


def test_steering_field_changes_the_text_and_scale_zero_does_not(client):
    kwargs = dict(model="stories260K-hf", prompt="Once upon a time", max_tokens=24, temperature=0)
    plain = client.completions.create(**kwargs).choices[0].text
    zero = client.completions.create(**kwargs, extra_body={"steering": steering_json(0.0)}).choices[0].text
    steered = client.completions.create(**kwargs, extra_body={"steering": steering_json(4.0)}).choices[0].text
    assert zero == plain
    assert steered != plain


def test_streaming_completion_adds_up_to_the_whole_text(client):
    kwargs = dict(model="stories260K-hf", prompt="Once upon a time", max_tokens=20, temperature=0)
    whole = client.completions.create(**kwargs).choices[0].text
    chunks = list(client.completions.create(**kwargs, stream=True))
    assert "".join(c.choices[0].text for c in chunks) == whole
    assert chunks[-1].choices[0].finish_reason == "length"


def test_bad_steering_is_a_400_naming_the_field(client):
    bad = [{"intervention": {"hook": {"name": "blocks.99.hook_resid_pre"}}}]
    with pytest.raises(BadRequestError) as e:
        client.completions.create(model="stories260K-hf", prompt="Once", max_tokens=4, extra_body={"steering": bad})
    assert "interventions[0].hook.name" in str(e.value)


def test_grpc_generate_and_compare():
    import grpc
    from steering_mesh.proto import common_pb2, gateway_pb2, gateway_pb2_grpc, model_service_pb2

    with grpc.insecure_channel(GRPC) as channel:
        stub = gateway_pb2_grpc.SteeringStub(channel)
        info = stub.GetModelInfo(model_service_pb2.GetModelInfoRequest(), timeout=30)
        assert info.n_layers == 5 and info.d_model == 64
        request = gateway_pb2.SteeredGenerateRequest(
            prompt=common_pb2.Prompt(text="Once upon a time"),
            sampling=common_pb2.SamplingParams(max_tokens=16, ignore_eos=True))
        text = "".join(r.text_delta for r in stub.Generate(request, timeout=60))
        assert text.startswith(", there was")
        vector = common_pb2.Tensor(shape=[64], dtype=common_pb2.FLOAT32, data=struct.pack("<64f", *VECTOR))
        steer = gateway_pb2.SteeringSpec(
            intervention=common_pb2.Intervention(hook=common_pb2.HookPoint(name="blocks.2.hook_resid_pre"),
                                                 vector=vector, positions=common_pb2.ALL),
            scale=4.0)
        compared = stub.Compare(gateway_pb2.CompareRequest(
            prompt=common_pb2.Prompt(text="Once upon a time"),
            sampling=common_pb2.SamplingParams(max_tokens=16, ignore_eos=True, seed=3),
            configs=[gateway_pb2.SteeringConfig(label="plain"), gateway_pb2.SteeringConfig(label="steered", steering=[steer])]),
            timeout=60)
        labels = [g.label for g in compared.generations]
        assert labels == ["plain", "steered"]
        assert compared.generations[0].text == text
        assert compared.generations[1].text != text
