"""Generated gRPC / protobuf stubs of proto/steering/v1 (clients/python/generate_stubs.sh). Do not edit."""
