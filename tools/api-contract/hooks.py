"""Schemathesis hooks for tools/api-contract.sh (loaded through SCHEMATHESIS_HOOKS)."""

import schemathesis

# The binary bodies (`format: binary`) are sent as they are, like application/octet-stream.
schemathesis.serializer.alias(
    ["application/pdf", "application/ofd", "application/timestamp-query"],
    "application/octet-stream",
)


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    """`POST /v1/licences:batch` takes NDJSON: one JSON value per line (a list is several lines)."""
    import json

    lines = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(line, ensure_ascii=False).encode() + b"\n" for line in lines)
