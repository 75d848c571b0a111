"""What every likeness backend shares: the result type, the protocol, and the one check on a face vector.

numpy is imported inside functions only: `cameos.likeness` is imported by web processes, which must not
pay for numpy (or faiss) unless they actually search.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    import numpy as np

# dlib's ResNet face descriptor (`ml.identity.face.DlibFaceEmbedder`): 128 float32 values, compared by L2
# distance; the same person is below 0.6. Rows of any other length come from another model and are never
# compared with these.
DIMENSIONS = 128


class Neighbor(NamedTuple):
    """A verified person cameo near the searched face; `distance` is the L2 distance, recomputed from the
    `FaceEmbedding` row (the source of truth), so both backends report the same number."""

    cameo_id: int
    owner_id: int
    distance: float


class ProtectedMatch(NamedTuple):
    """A protected-likeness gallery entry (a public figure) near the searched face."""

    likeness_id: int
    name: str
    distance: float


class LikenessIndex(Protocol):
    """Nearest verified person cameos by face. The `FaceEmbedding` table is the source of truth: an index
    only finds candidates faster, and what it returns is checked against the table (the cameo still exists,
    is a verified person cameo, and its stored vector gives the reported distance)."""

    using: str  # the database alias whose FaceEmbedding table this index mirrors

    def upsert(self, cameo_id: int, owner_id: int, vector: np.ndarray) -> None:
        """Make `cameo_id` searchable now, after its FaceEmbedding row was saved."""
        ...

    def remove(self, cameo_id: int) -> None:
        """Stop returning `cameo_id`, whose FaceEmbedding row is being deleted."""
        ...

    def refresh(self) -> None:
        """Catch up with rows other processes wrote; `nearest` calls it first."""
        ...

    def nearest(self, vector: np.ndarray, k: int, exclude_owner_id: int | None = None) -> list[Neighbor]:
        """Up to `k` verified person cameos nearest to `vector`, closest first, none owned by
        `exclude_owner_id`."""
        ...


def as_face_vector(vector: object) -> np.ndarray:
    """`vector` as a contiguous (128,) float32 array, or ValueError naming what was wrong with it: a wrong
    length means another model's vector, and NaN would match nothing and hide an impersonation."""
    import numpy as np

    array = np.ascontiguousarray(np.asarray(vector, dtype=np.float32))
    if array.shape != (DIMENSIONS,):
        raise ValueError(f"A face vector must have shape ({DIMENSIONS},), got {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError(
            f"A face vector must be finite, got {int((~np.isfinite(array)).sum())} NaN/inf values."
        )
    return array


def vector_from_bytes(raw: bytes | memoryview) -> np.ndarray:
    """A stored `FaceEmbedding.vector` / `ProtectedLikeness.vector` (little-endian float32) as an array."""
    import numpy as np

    return np.frombuffer(bytes(raw), dtype="<f4").astype(np.float32)


def vector_to_bytes(vector: object) -> bytes:
    """The storage form of a face vector: 128 little-endian float32 values."""
    return as_face_vector(vector).astype("<f4").tobytes()
