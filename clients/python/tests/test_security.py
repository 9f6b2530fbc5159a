"""TLS, client certificates and the API key, against a second gateway that scripts/e2e.sh starts with mTLS
(STEERING_TLS_CLIENT_AUTH=REQUIRED, certificates from deploy/tls/make-certs.sh) and STEERING_API_KEYS.
MESH_SECURE_GATEWAY, MESH_TLS_DIR (ca.crt, client.crt, client.key) and MESH_API_KEY say where and what.
That gateway's own calls to the plaintext model-service fail, so a call that passed TLS and the key check is told
by the gateway's own validation answer (Evaluate without a criterion), never by a dependency."""
import os
from pathlib import Path

import grpc
import pytest

from steering_mesh import Mesh, MeshError
from conftest import address


@pytest.fixture(scope="module")
def secure():
    tls = address("MESH_TLS_DIR")
    files = {name: os.path.join(tls, name) for name in ("ca.crt", "client.crt", "client.key")}
    return address("MESH_SECURE_GATEWAY"), files, address("MESH_API_KEY")


def reach(mesh: Mesh) -> MeshError:
    with pytest.raises(MeshError) as e:
        mesh.evaluate("", None, [])
    return e.value


def test_mtls_and_the_key_reach_the_gateway(secure):
    target, f, key = secure
    with Mesh(target, ca=f["ca.crt"], cert=f["client.crt"], key=f["client.key"], api_key=key, timeout=20) as mesh:
        e = reach(mesh)
    assert e.code == grpc.StatusCode.INVALID_ARGUMENT and e.message.startswith("criterion:")
    pem = {name: Path(path).read_bytes() for name, path in f.items()}  # PEM bytes instead of paths
    with Mesh(target, ca=pem["ca.crt"], cert=pem["client.crt"], key=pem["client.key"], api_key=key,
              server_name="localhost", timeout=20) as mesh:
        assert reach(mesh).code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("api_key", [None, "wrong"])
def test_a_missing_or_wrong_key_is_unauthenticated(secure, api_key):
    target, f, _ = secure
    with Mesh(target, ca=f["ca.crt"], cert=f["client.crt"], key=f["client.key"], api_key=api_key, timeout=20) as m:
        e = reach(m)
    assert e.code == grpc.StatusCode.UNAUTHENTICATED and "API key" in e.message


def test_no_client_certificate_or_no_tls_cannot_connect(secure):
    target, f, key = secure
    for options in (dict(ca=f["ca.crt"]), dict()):
        with Mesh(target, api_key=key, timeout=20, **options) as mesh:
            e = reach(mesh)
        assert e.code == grpc.StatusCode.UNAVAILABLE
