"""Alembic environment for the library database (online mode only: the pipeline always has a DB)."""

from alembic import context
from sqlalchemy import create_engine, pool

from include.library_db.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError(
        "alembic: no sqlalchemy.url in the migration config (include/library_db/database.py sets it)"
    )
version_table = config.attributes.get("version_table", "altium2kicad_alembic_version")

connectable = create_engine(url, poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
