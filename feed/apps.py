from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"

    def ready(self) -> None:
        # Connects the receivers of the lower apps' hooks (a published video gets its post; notifications).
        from feed import receivers  # noqa: F401
