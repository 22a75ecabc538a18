"""Scrub secrets out of anything that may be printed, logged or stored as an artifact."""

from __future__ import annotations

import re

_URI_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]+):(?P<password>[^@/\s]+)@", re.I)
_API_KEY = re.compile(r"\b(sk-[A-Za-z0-9_-]{8,})")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")


def redact(text: str, *secrets: str | None) -> str:
    """`text` with passwords in URIs, API keys, bearer tokens and the given `secrets` replaced by `***`."""
    text = _URI_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    text = _API_KEY.sub("sk-***", text)
    text = _BEARER.sub(r"\1***", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
