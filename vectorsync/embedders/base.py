"""The one interface every embedder implements, whatever runs the model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Tokenizer(Protocol):
    """Splits text into the model's own tokens, so that chunks never exceed the model's limit.

    One may also offer `token_offsets_batch(texts)`; chunking then tokenizes a whole window in one call.
    """

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character `(start, end)` of every content token of `text`, special tokens excluded."""
        ...


class Embedder(ABC):
    """Turns texts into vectors, loading its model only when `encode` first needs it.

    Queries go through `encode_queries` and documents through `encode_documents`: each prepends its prompt
    (`query_prompt`, `document_prompt`), as a model trained with task prefixes expects, whatever runs the model.
    Chunking and fingerprinting use only `identity`, `tokenizer`, `max_tokens` and the prompts, so a run
    with nothing new to embed never pays for a model load (or an API call).
    """

    model_id: str

    @property
    def query_prompt(self) -> str:
        """Text put before every query (a model's task prefix, such as "query: "); empty for none."""
        return ""

    @property
    def document_prompt(self) -> str:
        """Text put before every document chunk (such as "passage: "); empty for none. Part of `identity`."""
        return ""

    @property
    @abstractmethod
    def identity(self) -> str:
        """Everything that changes the vectors (model, revision, dimensions, normalisation, precision)."""

    @property
    @abstractmethod
    def dimensions(self) -> int:
        """Length of each vector, read from the model or the provider, never typed by hand."""

    @property
    @abstractmethod
    def max_tokens(self) -> int:
        """The most content tokens one input may have."""

    @property
    @abstractmethod
    def tokenizer(self) -> Tokenizer:
        """The model's tokenizer (or a conservative estimate of it)."""

    @property
    def loaded(self) -> bool:
        """Whether the model (or client) has been loaded; an unchanged re-run keeps this False."""
        return False

    @abstractmethod
    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Embed `texts` as given, no prompt added, into a float32 array of shape `(len(texts), dimensions)`."""

    def encode_queries(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Embed search queries: each text behind `query_prompt`."""
        return self.encode([self.query_prompt + text for text in texts], batch_size=batch_size)

    def encode_documents(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Embed documents (chunks): each text behind `document_prompt`."""
        return self.encode([self.document_prompt + text for text in texts], batch_size=batch_size)

    @property
    def document_tokens(self) -> int:
        """Content tokens a document may have, so that it still fits `max_tokens` behind `document_prompt`."""
        return self.max_tokens - self.count_tokens(self.document_prompt)

    def count_tokens(self, text: str) -> int:
        """Number of content tokens in `text`."""
        return len(self.tokenizer.token_offsets(text))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model_id!r})"
