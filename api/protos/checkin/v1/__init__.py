"""Generated protobuf/gRPC code (scripts/gen_protos.sh); the .proto path is the import path."""
