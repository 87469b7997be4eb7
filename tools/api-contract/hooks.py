"""Schemathesis hooks for tools/api-contract.sh (loaded through SCHEMATHESIS_HOOKS)."""

import schemathesis

# The binary bodies (`format: binary`) are sent as they are, like application/octet-stream.
schemathesis.serializer.alias(
    ["application/pdf", "application/ofd", "application/timestamp-query"],
    "application/octet-stream",
)
