from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"

    def ready(self) -> None:
        # Connects the receivers of the lower apps' hooks (a published video gets its post; notifications);
        # `media` narrows who may play a published video to who may see its post.
        from feed import media, receivers  # noqa: F401
        from feed.selectors import adults_only_admits
        from generation.selectors import published_audience_rules

        media.register()
        # Age restriction holds wherever a video is shown, not only in feeds (generation cannot import feed).
        if adults_only_admits not in published_audience_rules:
            published_audience_rules.append(adults_only_admits)
