from datetime import date
from importlib import import_module

import factory
from django.apps import apps as django_apps
from django.contrib.auth.models import Group

from accounts.models import User
from ml.prompt import parse_prompt

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    display_name = factory.LazyAttribute(lambda user: user.username.title())
    birth_date = date(1990, 1, 1)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results: dict | None = None) -> None:
        if create:
            instance.save(update_fields=["password"])


class CameoFactory(factory.django.DjangoModelFactory):
    """A cameo as the verification task leaves it (no media): for permission and API tests."""

    class Meta:
        model = "cameos.Cameo"

    owner = factory.SubFactory(UserFactory)
    kind = "person"
    status = "verified"
    permission = "only_me"


class GenerationFactory(factory.django.DjangoModelFactory):
    """A generation row as the job runner leaves it, for appearance and consent tests."""

    class Meta:
        model = "generation.Generation"
        skip_postgeneration_save = True

    requester = factory.SubFactory(UserFactory)
    prompt = "@maya plays chess on the moon"
    # The scene its prompt parses to, as the service stores it (the API's schema types it exactly).
    spec = factory.LazyAttribute(lambda generation: parse_prompt(generation.prompt).to_dict())
    status = "succeeded"

    @factory.post_generation
    def cameos(self, create: bool, cameos: list | None, **kwargs: object) -> None:
        from generation.models import GenerationCameo

        for cameo in cameos or []:
            GenerationCameo.objects.create(
                generation=self, cameo=cameo, owner=cameo.owner, handle=cameo.owner.username
            )

    @factory.post_generation
    def post(self, create: bool, extracted: object, **kwargs: object) -> None:
        """A published video has its post, as `generation_publish` leaves it (feed.receivers)."""
        from feed.models import Post

        if create and self.published_at is not None:
            Post.objects.get_or_create(generation=self, defaults=kwargs)

def with_role(user: User, role: str) -> User:
    """`user` in a moderation role's group (`moderator` or `admin`, created by moderation's migration 0002;
    made again here after a `transaction=True` test has flushed the tables, migration data included)."""
    if not Group.objects.filter(name=role).exists():
        import_module("moderation.migrations.0002_roles").create_roles(django_apps, None)
    user.groups.add(Group.objects.get(name=role))
    return user
