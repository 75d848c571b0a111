"""Hooks the cameos app fires for the apps above it (generation, moderation, feed), which react to a change of
consent or a held likeness without cameos importing them (the layer contract in pyproject.toml).

Sent synchronously inside the transaction of the change; receivers defer irreversible effects with
`transaction.on_commit` and are connected in their app's `AppConfig.ready`."""

from django.dispatch import Signal

# Who may use `cameo` may have narrowed: its permission changed (`requester` None), or the approval of
# `requester` ended. Whoever lost the right loses the videos made with it (the consent rule decides who).
cameo_consent_narrowed = Signal()

# The cameo `cameo_id` is out of use for good (deleted by its owner or with their account, or erased).
cameo_withdrawn = Signal()

# `cameo` is held for a moderator (`reason`, `evidence`, `priority`): a likeness match, a character image
# showing a person.
cameo_held_for_review = Signal()

# `requester` asked to use `cameo` (`request`, a new CameoAccessRequest): the feed tells the owner.
cameo_access_requested = Signal()

# The owner of `cameo` approved `request` (it was not approved before): the feed tells its requester.
cameo_access_granted = Signal()
