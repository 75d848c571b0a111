"""The moderation roles: Django groups holding the permissions declared on `Case.Meta.permissions`, created
by migration 0002 and granted with `manage.py moderation_role grant <username> <role>`.

Other apps never import this module (they sit below moderation): they check a permission by its name,
`user.has_perm(MODERATE)` with the string spelt out."""

from enum import StrEnum

MODERATE = "moderation.moderate"
ADMINISTER = "moderation.administer"


class Role(StrEnum):
    MODERATOR = "moderator"
    ADMIN = "admin"


# Codenames (app label "moderation") each role's group holds.
ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.MODERATOR: ("moderate",),
    Role.ADMIN: ("moderate", "administer"),
}
