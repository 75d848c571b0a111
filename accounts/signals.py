"""Hooks the accounts app fires for the apps above it (cameos, generation, ...), which must react to what
happens to a person without accounts importing them (the layer contract in pyproject.toml).

Each signal is sent synchronously inside the transaction of the change, so a receiver's writes commit or
roll back with it; receivers defer their irreversible effects (storage deletes, socket pushes) with
`transaction.on_commit`. Receivers are connected in their app's `AppConfig.ready`."""

from django.dispatch import Signal

# `user` was deactivated (account deletion today; suspension later): nothing of theirs may be used or shown.
user_deactivated = Signal()

# The erasure job for a deactivated `user` runs (idempotent, possibly more than once): each app erases what
# it holds about them (cameos: recordings, references, embeddings; pending uploads and challenges).
user_erasure_requested = Signal()

# `blocker` blocked `blocked`: neither may use the other's likeness any more, nor see it.
user_blocked = Signal()

# `follower` stopped following `followee`: a "mutuals" permission between them may have ended.
follow_removed = Signal()

# `follower` started following `followee` (sent only when the follow is new): the feed tells `followee`.
follow_created = Signal()
