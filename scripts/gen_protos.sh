#!/usr/bin/env bash
# Generate the Python code of every api/protos/**/*.proto beside it, from the repo root, so the
# .proto path equals the import path (api/protos/checkin/v1/ingest.proto ->
# api.protos.checkin.v1.ingest_pb2). Uses the grpcio-tools pinned in uv.lock (.venv).
#   scripts/gen_protos.sh          regenerate in place
#   scripts/gen_protos.sh --check  regenerate into a temp dir and fail on any difference
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
mapfile -t PROTOS < <(find api/protos -name '*.proto' | sort)

generate() {
  "$PYTHON" -m grpc_tools.protoc -I. --python_out="$1" --pyi_out="$1" --grpc_python_out="$1" \
    "${PROTOS[@]}"
}

if [[ "${1:-}" == "--check" ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  generate "$tmp"
  status=0
  while IFS= read -r generated; do
    rel=${generated#"$tmp"/}
    if ! diff -q "$generated" "$rel" >/dev/null 2>&1; then
      echo "protos out of date: $rel (run scripts/gen_protos.sh)" >&2
      status=1
    fi
  done < <(find "$tmp" -type f | sort)
  exit $status
fi
generate .
