from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"

    def ready(self) -> None:
        # Connects the receivers of the generation app's hooks (a published video gets its post).
        from feed import receivers  # noqa: F401
