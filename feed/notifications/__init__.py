"""Notifications: what happened that a person should hear about, kept as their list (read / unread) and
pushed to their socket after commit. `services` writes them (called by the feed's own services, by
`feed.receivers` for the lower apps' signals, and by moderation's decisions), `selectors` reads them and
holds the one rule for who may notify whom, `serializers` is the recipient's view (the list and the push),
`apis` the endpoints. The model is `feed.models.Notification`."""
