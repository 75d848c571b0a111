from django.db import migrations, models


class Migration(migrations.Migration):
    """A video's author by its id from an index alone (PostgreSQL: the id, with the requester as a non-key
    column): For You's ranking reads the authors of a viewer's latest likes, comments and views, hundreds of
    rows scattered over a table whose rows are kilobytes (feed.ranking.selectors.viewer_signals)."""

    dependencies = [
        ("generation", "0007_published_by_author_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="generation",
            index=models.Index(fields=["id"], include=["requester"], name="generation_author_by_id"),
        ),
    ]
