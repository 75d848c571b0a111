"""Scene to video: the engine contract (``engine``) and its implementations.

Importing this package, or ``ml.generation.engine``, loads numpy only; ``ml.generation.diffusers_engine``
imports torch and diffusers and is imported by the GPU worker alone.
"""

from ml.generation.engine import (
    CancelCheck,
    GeneratedVideo,
    GenerationCanceled,
    GenerationMetadata,
    Identity,
    ProgressCallback,
    VideoEngine,
    check_identities,
)

__all__ = [
    "CancelCheck",
    "GeneratedVideo",
    "GenerationCanceled",
    "GenerationMetadata",
    "Identity",
    "ProgressCallback",
    "VideoEngine",
    "check_identities",
]
