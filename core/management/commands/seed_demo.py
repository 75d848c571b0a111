"""Seed the demo data a newcomer needs to try the product: idempotent, development only."""

from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services
from accounts.models import User

DEMO_PASSWORD = "demo-password-2026"
DEMO_USERS = (
    ("maya", "maya@example.com", "Maya", date(1995, 4, 12)),
    ("leo", "leo@example.com", "Leo", date(1992, 9, 30)),
)


class Command(BaseCommand):
    help = "Create the demo users (development only; refuses to run with DJANGO_DEBUG=false)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo only runs with DJANGO_DEBUG=true: it creates accounts with a known password"
            )
        users = []
        for username, email, display_name, birth_date in DEMO_USERS:
            user = User.objects.filter(username__iexact=username).first()
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
        self.stdout.write(
            f"Demo users: {', '.join('@' + u[0] for u in DEMO_USERS)} (password: {DEMO_PASSWORD})"
        )
