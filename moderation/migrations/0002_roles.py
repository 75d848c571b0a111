"""The moderation permissions and the `moderator` and `admin` groups that hold them.

The permissions are created here rather than left to `post_migrate`, which runs only after every migration:
the groups need them now. `post_migrate` later finds them and creates nothing twice."""

from django.db import migrations

PERMISSIONS = {
    "moderate": "Can review, claim and decide moderation cases and play held media",
    "administer": "Can read and export the moderation audit log",
}
# Frozen here: a migration must not read the live module, which may change after it ran.
ROLE_PERMISSIONS = {"moderator": ("moderate",), "admin": ("moderate", "administer")}


def create_roles(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    case_type, _ = ContentType.objects.get_or_create(app_label="moderation", model="case")
    permissions = {
        codename: Permission.objects.get_or_create(
            content_type=case_type, codename=codename, defaults={"name": name}
        )[0]
        for codename, name in PERMISSIONS.items()
    }
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(permissions[codename] for codename in codenames))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="moderation", codename__in=PERMISSIONS
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="case",
            options={"permissions": [(codename, name) for codename, name in PERMISSIONS.items()]},
        ),
        migrations.RunPython(create_roles, remove_roles),
    ]
