"""The moderator console: server-rendered pages at /moderation/ for moderators signed in with a session
(`accounts/web.py`). Thin views over the same selectors and services as the moderation API."""
