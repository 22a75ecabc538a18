"""Secrets kept in Prefect Secret blocks: resolved once at the start of a flow run, never logged."""

from __future__ import annotations

from prefect.blocks.system import Secret
from pydantic import SecretStr

from vectorsync.settings import Settings


def with_secret_blocks(settings: Settings) -> Settings:
    """`settings` with the OpenAI key and MongoDB URI read from the Secret blocks they name, when unset."""
    updates: dict[str, SecretStr] = {}
    if settings.openai_api_key_block and not settings.openai_api_key:
        updates["openai_api_key"] = SecretStr(str(Secret.load(settings.openai_api_key_block).get()))
    if settings.mongodb_uri_block and not settings.mongodb_uri:
        updates["mongodb_uri"] = SecretStr(str(Secret.load(settings.mongodb_uri_block).get()))
    return settings.model_copy(update=updates) if updates else settings
