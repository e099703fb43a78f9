"""``hotspot db upgrade`` on a PostgreSQL server that is there but not set up for the store (a
role or database not yet made) says what to make, not "try again", and names no user, database
or host; a server that is not there says to check it is running."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from bench._server import free_port
from tests.cli.test_cli import run
from tests.conftest import POSTGRES_URL


def _url(user: str | None = None, database: str | None = None, port: int | None = None) -> str:
    parts = urlsplit(POSTGRES_URL)
    host = parts.hostname or "127.0.0.1"
    return (f"postgresql://{user or parts.username}@{host}:{port or parts.port or 5432}/"
            f"{database or parts.path.lstrip('/')}")


def test_set_up_mistakes_are_named_without_the_names(tmp_path: Path) -> None:
    for url, says in (
            (_url(user="no_such_role_x7"), "refused the store's user"),
            (_url(database="no_such_database_x7"), "does not exist: an administrator creates"),
            (_url(port=free_port()), "nothing answers at the database's host and port")):
        done = run(tmp_path, "db", "upgrade", "--database", url, ok=False)
        assert done.returncode == 1
        error = done.stderr.replace("\n", " ")
        assert says in " ".join(error.split()), (url, done.stderr)
        assert "no_such" not in error.split("error:", 1)[1]  # the log line above may name it
