"""pgvector storage for the likeness search, only where the database can have it.

On PostgreSQL it tries `CREATE EXTENSION IF NOT EXISTS vector` inside a savepoint; when that works it adds
to `cameos_faceembedding`:
- `embedding vector(128)`, derived from the row's `vector` bytes (the source of truth) by
  `cameos.likeness.pgvector`;
- an HNSW index on it with `vector_l2_ops` (dlib's L2 distance);
- a partial index of the rows whose `embedding` is still empty, so filling them is one cheap probe;
- a trigger that empties `embedding` whenever `vector` changes, so the two never disagree.
On SQLite, and on a PostgreSQL without pgvector (the extension is not installed on the server, or we may
not create it), it does nothing and the in-process index is used instead.
"""

from django.db import DatabaseError, migrations, transaction

FORWARD_SQL = [
    "ALTER TABLE cameos_faceembedding ADD COLUMN IF NOT EXISTS embedding vector(128)",
    "CREATE INDEX IF NOT EXISTS cameos_faceembedding_embedding_hnsw"
    " ON cameos_faceembedding USING hnsw (embedding vector_l2_ops) WITH (m = 32, ef_construction = 128)",
    "CREATE INDEX IF NOT EXISTS cameos_faceembedding_embedding_missing"
    " ON cameos_faceembedding (id) WHERE embedding IS NULL AND dimensions = 128",
    """
    CREATE OR REPLACE FUNCTION cameos_faceembedding_embedding_stale() RETURNS trigger AS $$
    BEGIN
        IF NEW.vector IS DISTINCT FROM OLD.vector THEN
            NEW.embedding := NULL;
        END IF;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS cameos_faceembedding_embedding_stale ON cameos_faceembedding",
    "CREATE TRIGGER cameos_faceembedding_embedding_stale BEFORE UPDATE ON cameos_faceembedding"
    " FOR EACH ROW EXECUTE FUNCTION cameos_faceembedding_embedding_stale()",
]

BACKWARD_SQL = [
    "DROP TRIGGER IF EXISTS cameos_faceembedding_embedding_stale ON cameos_faceembedding",
    "DROP FUNCTION IF EXISTS cameos_faceembedding_embedding_stale()",
    "DROP INDEX IF EXISTS cameos_faceembedding_embedding_missing",
    "DROP INDEX IF EXISTS cameos_faceembedding_embedding_hnsw",
    "ALTER TABLE cameos_faceembedding DROP COLUMN IF EXISTS embedding",
]


def add_pgvector_column(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        try:
            with transaction.atomic(using=connection.alias):  # a savepoint: a failure leaves the rest intact
                cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except DatabaseError:
            return  # no pgvector on this server (or no right to create it): the in-process index serves
        for statement in FORWARD_SQL:
            cursor.execute(statement)


def drop_pgvector_column(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for statement in BACKWARD_SQL:
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("cameos", "0001_initial")]

    operations = [migrations.RunPython(add_pgvector_column, drop_pgvector_column, elidable=False)]
