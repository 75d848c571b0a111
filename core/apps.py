from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Platform"

    def ready(self) -> None:
        from django.db.models import CharField
        from django.db.models.functions import Lower

        # `username__lower=name.lower()`: names and e-mails are unique case-insensitively by indexes on
        # LOWER(column) (accounts.User, accounts.Handle, cameos.Cameo), which this lookup uses. Django's
        # `__iexact` compiles to UPPER(column) on PostgreSQL, which no index serves: every sign-in, profile
        # and mention lookup read the whole users table (2-23 ms at 50k users, bench/RESULTS.md).
        CharField.register_lookup(Lower)
