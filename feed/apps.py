from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"

    def ready(self) -> None:
        # Connects the receivers of the lower apps' hooks (a published video gets its post; notifications)
        # and narrows who generation shows a published video to (`media`: to who may see its post).
        from feed import media, receivers  # noqa: F401

        media.register()
