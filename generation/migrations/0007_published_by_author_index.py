from django.db import migrations, models


class Migration(migrations.Migration):
    """The per-author index of published videos gains the id: a Following page reads each followed
    account's newest (published_at, id) from the index alone (feed.selectors.following_candidates), and the
    id breaks ties in page order. It serves everything the index it replaces did."""

    dependencies = [
        ("generation", "0006_requester_published_index"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="generation", name="generation_requester_published"),
        migrations.AddIndex(
            model_name="generation",
            index=models.Index(
                condition=models.Q(("published_at__isnull", False)),
                fields=["requester", "-published_at", "-id"],
                name="generation_published_by_author",
            ),
        ),
    ]
