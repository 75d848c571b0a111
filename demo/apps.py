from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data of the embedded default (`seed_demo`). It sits above every product app, so it may use
    them all, and nothing imports it."""

    name = "demo"
