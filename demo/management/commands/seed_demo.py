"""Seed the demo a newcomer needs to see the product work: two users who follow each other, each with a
cameo verified by the real pipeline (a recording made from a package-shipped photo and an espeak-ng voice
reading the challenge digits), and one video generated with the reference engine, published to the feed.

Idempotent (a second run finds everything and does nothing) and development only."""

from dataclasses import replace
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts import services
from accounts.models import User

DEMO_PASSWORD = "demo-password-2026"
DEMO_USERS = (
    ("maya", "maya@example.com", "Maya", date(1995, 4, 12)),
    ("leo", "leo@example.com", "Leo", date(1992, 9, 30)),
)
# Whose face and voice each demo cameo is made of (photos shipped in skimage and insightface), and the
# recording's frame size: insightface's group photo gives small faces, sharp enough only at phone-low size.
DEMO_FACES = {"maya": ("astronaut", "en+f4", (360, 480)), "leo": ("t1_2", "en+m3", (240, 320))}
DEMO_PROMPT = '@maya surfs a wave at sunset, maya says "let\'s go!"\nduration: 4s\nseed: 7'
DEMO_IDEMPOTENCY_KEY = "demo-first-video"


class Command(BaseCommand):
    help = "Create the demo users, their cameos and a first video (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--users-only", action="store_true", help="Only the users: no cameos, no video (fast)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo only runs with DJANGO_DEBUG=true: it creates accounts with a known password"
            )
        users = self._users()
        self.stdout.write(
            f"Demo users: {', '.join('@' + u[0] for u in DEMO_USERS)} (password: {DEMO_PASSWORD})"
        )
        if options["users_only"]:
            return
        for user in users:
            cameo = self._cameo(user)
            self.stdout.write(f"@{user.username}'s cameo {cameo.pk}: {cameo.status}")
        generation = self._first_video(requester=users[1])
        self.stdout.write(
            f"Demo video {generation.pk}: {generation.status}, in the feed; its share page is /v/{generation.pk}"
        )

    @transaction.atomic
    def _users(self) -> list[User]:
        users = []
        for username, email, display_name, birth_date in DEMO_USERS:
            user = User.objects.filter(username__lower=username.lower()).first()
            if user is None:
                user = services.user_create(
                    username=username,
                    email=email,
                    password=DEMO_PASSWORD,
                    birth_date=birth_date,
                    display_name=display_name,
                )
                services.email_verify(token=services.email_verification_token(user=user))
            users.append(user)
        # The demo people follow each other, so mutual-only features have someone to show.
        for follower in users:
            for followee in users:
                if follower != followee:
                    services.follow_create(follower=follower, followee=followee)
        return users

    def _cameo(self, user: User) -> Any:
        """The user's verified cameo, recorded and verified through the same services as the app's."""
        from cameos import services as cameos
        from cameos.models import Cameo, CameoKind, CameoStatus
        from ml.synthetic import recordings

        existing = Cameo.objects.filter(owner=user, kind=CameoKind.PERSON).exclude(status="rejected").first()
        if existing is None:
            face, voice, (width, height) = DEMO_FACES[user.username]
            challenge = cameos.challenge_create(user=user)
            spec = replace(
                recordings.GOOD,
                name=f"demo_{user.username}",
                people=(face,),
                voice=voice,
                digits=challenge.digits,
                width=width,
                height=height,
            )
            with TemporaryDirectory() as folder:
                path = recordings.build(spec, Path(folder))
                with path.open("rb") as recording:
                    existing = cameos.cameo_create(owner=user, challenge_id=challenge.pk, recording=recording)
        if existing.status in (CameoStatus.UPLOADED, CameoStatus.PROCESSING):
            cameos.cameo_verify(
                cameo_id=existing.pk
            )  # here, not waiting for the worker (it will find it done)
            existing.refresh_from_db()
        if existing.status != CameoStatus.VERIFIED:
            raise CommandError(
                f"@{user.username}'s demo cameo is {existing.status} ({existing.rejection_reason or 'no reason'}); "
                "the identity models may be missing: run scripts/setup"
            )
        if existing.permission != "mutuals":
            cameos.cameo_update_settings(cameo=existing, permission="mutuals")
        return existing

    def _first_video(self, *, requester: User) -> Any:
        from generation import runner
        from generation import services as generation
        from generation.models import GenerationStatus

        video, _ = generation.generation_create(
            requester=requester, prompt=DEMO_PROMPT, idempotency_key=DEMO_IDEMPOTENCY_KEY
        )
        if video.status in (GenerationStatus.QUEUED, GenerationStatus.RUNNING):
            runner.generation_run(generation_id=video.pk)
            video.refresh_from_db()
        if video.status != GenerationStatus.SUCCEEDED:
            raise CommandError(f"the demo video ended {video.status} ({video.failure_reason})")
        return generation.generation_publish(requester=requester, generation_id=video.pk)
