"""Hooks the generation app fires for the apps above it (moderation, feed), without importing them (the layer
contract in pyproject.toml). Sent synchronously inside the transaction of the change; receivers are
connected in their app's `AppConfig.ready`."""

from django.dispatch import Signal

# An output check held or blocked `generation`: keyword arguments `source`, `reason`, `evidence`,
# `priority` (what `generation.output_checks.Verdict.flag` holds) for a moderation case.
generation_flagged = Signal()

# `generation_publish` is about to put `generation` in the feed (every check of its own passed): the feed
# creates the video's post. A receiver may refuse by raising an ApplicationError (the feed does for a post a
# cameo owner removed their tag from), which rolls the publish back.
generation_publishing = Signal()

# The render of `generation` succeeded and its draft is stored (inside the runner's transaction that stores
# it): the feed tells each owner of a cameo in it, other than its requester, that their likeness was used.
generation_succeeded = Signal()
