"""Generated protobuf and gRPC modules for stenograph.v1 (see scripts/gen_protos.py)."""
