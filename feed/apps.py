from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"

    def ready(self) -> None:
        # Connects the receivers of the lower apps' hooks (a published video gets its post; notifications);
        # `media` narrows who may play a published video to who may see its post.
        from feed import media, receivers  # noqa: F401

        media.register()
