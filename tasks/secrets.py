"""Secrets kept in Prefect Secret blocks: resolved once at the start of a flow run, never logged."""

from __future__ import annotations

from typing import cast

from prefect.blocks.system import Secret
from pydantic import SecretStr

from vectorsync.settings import Settings


def with_secret_blocks(settings: Settings) -> Settings:
    """`settings` with the OpenAI key and MongoDB URI read from the Secret blocks they name, when unset."""
    updates: dict[str, SecretStr] = {}
    if settings.openai_api_key_block and not settings.openai_api_key:
        updates["openai_api_key"] = SecretStr(_read_secret(settings.openai_api_key_block))
    if settings.mongodb_uri_block and not settings.mongodb_uri:
        updates["mongodb_uri"] = SecretStr(_read_secret(settings.mongodb_uri_block))
    return settings.model_copy(update=updates) if updates else settings


def _read_secret(block: str) -> str:
    secret = cast(Secret, Secret.load(block))  # a flow calls it synchronously, so load returns the block
    return str(secret.get())
