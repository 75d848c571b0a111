"""The project's own reference video diffusion model: trained here, on CPU, on a synthetic scene corpus.

``ReferenceEngine.from_registry()`` is the entry point (the generation pipeline and the worker call it).
Modules: ``model`` (ReferenceDiT), ``sampler`` (flow-matching Euler), ``text`` (all-MiniLM-L6-v2),
``faces`` and ``corpus`` (training data), ``train`` (the training script), ``engine`` (the VideoEngine).
"""

from ml.generation.reference.engine import ReferenceEngine

__all__ = ["ReferenceEngine"]
