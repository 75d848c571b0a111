from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"

    def ready(self) -> None:
        # Importing `checks` registers the system checks, `receivers` connects the receivers of the lower
        # apps' hooks; `media` guards the signed links to generation files.
        from generation import checks, media, receivers  # noqa: F401

        media.register()
