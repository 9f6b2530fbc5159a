"""One exception class for every failed call: the gRPC status code and the service's message, kept as they came."""
from __future__ import annotations

import grpc

_BY_VALUE = {code.value[0]: code for code in grpc.StatusCode}


class MeshError(Exception):
    """A call to the mesh failed. `code` is the grpc.StatusCode (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, ...),
    `message` the service's own text (it names the field at fault), `method` the RPC or operation."""

    def __init__(self, code: grpc.StatusCode, message: str, method: str = ""):
        super().__init__(f"{code.name}: {message}" + (f" [{method}]" if method else ""))
        self.code = code
        self.message = message
        self.method = method

    @classmethod
    def from_rpc(cls, error: grpc.RpcError, method: str = "") -> "MeshError":
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        details = error.details() if hasattr(error, "details") else str(error)
        return cls(code or grpc.StatusCode.UNKNOWN, details or "", method)

    @classmethod
    def from_code(cls, code: int, message: str, method: str = "") -> "MeshError":
        """From a google.rpc.Code number, as `Operation.error` carries it."""
        return cls(_BY_VALUE.get(code, grpc.StatusCode.UNKNOWN), message, method)
