from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"

    def ready(self) -> None:
        # Connects the receivers of the generation app's hooks (a published video gets its post); `media`
        # narrows who may play a published video to who may see its post.
        from feed import media, receivers  # noqa: F401

        media.register()
