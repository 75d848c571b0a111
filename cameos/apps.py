from django.apps import AppConfig


class CameosConfig(AppConfig):
    name = "cameos"

    def ready(self) -> None:
        # Importing `receivers` connects the receivers of the accounts app's hooks; `media` guards the signed
        # links to cameo files.
        from cameos import media, receivers  # noqa: F401

        media.register()
