"""The database a registry runs on: an SQLite file or a PostgreSQL server, behind one small
connection interface that takes the registry's SQL (``?`` parameters) as it is.

The registry's SQL is written once, in the subset both accept (``ON CONFLICT`` upserts, no
``INSERT OR ...``, no JSON functions); :class:`Database` adapts what differs: parameter marks,
the ``BLOB`` type of the early migrations (``BYTEA`` on PostgreSQL), how a transaction starts
(SQLite's ``BEGIN IMMEDIATE`` takes the write lock at once; PostgreSQL locks rows as they are
changed, and the migrations take an advisory lock), the implicit row order (``rowid`` or
``ctid``) and which exception is a constraint violation. A PostgreSQL URL's password never
appears in a message.
"""

import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = [
    "POSTGRES_SCHEMES",
    "Database",
    "database_errors",
    "is_postgres_url",
    "open_database",
    "redacted",
    "safe_label",
]

#: URL schemes that name a PostgreSQL database instead of an SQLite file.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")

#: Seconds an SQLite connection waits for another one's write lock before "locked".
_SQLITE_BUSY = 30.0

#: Key of the advisory lock that serialises migrations of one PostgreSQL database.
_MIGRATION_LOCK = 0x726F707566  # "ropuf"


def is_postgres_url(target: str | os.PathLike[str]) -> bool:
    """Whether *target* names a PostgreSQL database (``postgresql://...``)."""
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def safe_label(target: str | os.PathLike[str]) -> str:
    """*target* for messages: a file path as it is, a URL without its password."""
    if not is_postgres_url(target):
        return str(target)
    parts = urlsplit(str(target))
    if parts.password is None:
        return str(target)
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


def redacted(message: str, target: str | os.PathLike[str]) -> str:
    """*message* (a driver's error about *target*) without *target*'s password, raw or
    percent-decoded: libpq may echo parts of the URL it could not use."""
    if not is_postgres_url(target):
        return message
    raw = urlsplit(str(target)).password or ""
    for secret in sorted({raw, unquote(raw)} - {""}, key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


class Database:
    """One connection in autocommit mode; :meth:`begin`, :meth:`commit` and
    :meth:`rollback` make the transactions.

    Attributes
    ----------
    dialect : str
        ``"sqlite"`` or ``"postgresql"``.
    label : str
        The file, or the URL without password, for messages.
    integrity_errors : tuple of exception types
        What a violated constraint (a duplicate key) raises.
    errors : tuple of exception types
        What any database failure raises.
    row_order : str
        The column of the implicit insertion order (``rowid``; ``ctid`` on PostgreSQL, the
        physical order, which is the insertion order of rows never updated).
    """

    def __init__(self, connection: Any, dialect: str, label: str):
        self.connection = connection
        self.dialect = dialect
        self.label = label
        if dialect == "sqlite":
            self.integrity_errors: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)
            self.errors: tuple[type[Exception], ...] = (sqlite3.DatabaseError,)
            self.row_order = "rowid"
        else:
            # Imported on use: only a PostgreSQL registry needs it (start-up time).
            import psycopg

            self.integrity_errors = (psycopg.errors.IntegrityError,)
            self.errors = (psycopg.Error,)
            self.row_order = "ctid"

    def _sql(self, sql: str) -> str:
        if self.dialect == "sqlite":
            return sql
        # The early migrations' types: PostgreSQL's REAL is 4 bytes (seconds since the epoch
        # would lose minutes), SQLite's is 8.
        sql = re.sub(r"\bBLOB\b", "BYTEA", sql)
        sql = re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: tuple | list = ()) -> Any:
        """Run one statement; a cursor (``fetchone``, ``fetchall``, ``rowcount``, iteration)."""
        if self.dialect == "sqlite":
            return self.connection.execute(sql, params)
        return self.connection.execute(self._sql(sql), params or None)

    def executemany(self, sql: str, rows: list) -> int:
        """Run one statement per row of *rows*; the number of rows changed."""
        if self.dialect == "sqlite":
            return max(self.connection.executemany(sql, rows).rowcount, 0)
        if not rows:
            return 0
        # psycopg sends the rows in one pipeline (no round trip per row); rowcount is their sum.
        with self.connection.cursor() as cursor:
            cursor.executemany(self._sql(sql), rows)
            return max(cursor.rowcount, 0)

    def in_list(self, column: str, values: list) -> tuple[str, list]:
        """A condition "*column* is one of *values*" and its parameters: ``column IN (?, ...)``
        on SQLite, ``column = ANY(?)`` with one array on PostgreSQL (one statement text
        whatever the count, so the server and psycopg parse it once)."""
        if self.dialect == "sqlite":
            return f"{column} IN ({', '.join('?' * len(values))})", list(values)
        return f"{column} = ANY(?)", [list(values)]

    def insert_many(self, table: str, columns: dict[str, str], rows: list[tuple]) -> None:
        """Insert *rows* into *table* in one statement: *columns* maps each column to its
        PostgreSQL type (``text``, ``double precision``, ...), in the rows' order. SQLite runs
        one prepared INSERT over the rows; PostgreSQL one ``INSERT ... SELECT FROM unnest``
        of one array per column."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.dialect == "sqlite":
            marks = ", ".join("?" * len(columns))
            self.connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            return
        arrays = ", ".join(f"?::{kind}[]" for kind in columns.values())
        self.execute(
            f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})",
            [list(values) for values in zip(*rows, strict=True)],
        )

    @property
    def in_transaction(self) -> bool:
        if self.dialect == "sqlite":
            return self.connection.in_transaction
        # Imported on use: only a PostgreSQL registry needs it (start-up time).
        from psycopg.pq import TransactionStatus

        return self.connection.info.transaction_status != TransactionStatus.IDLE

    def begin(self) -> None:
        self.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")

    def begin_migration(self) -> None:
        """Start the transaction of a schema upgrade, the only one on this database."""
        self.begin()
        if self.dialect != "sqlite":
            self.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    def close(self) -> None:
        self.connection.close()


def database_errors(target: str | os.PathLike[str]) -> tuple[type[Exception], ...]:
    """What opening or using the database of *target* raises when it fails."""
    if is_postgres_url(target):
        # Imported on use: only a PostgreSQL registry needs it (start-up time).
        import psycopg

        return (psycopg.Error,)
    return (sqlite3.DatabaseError,)


def open_database(target: str | os.PathLike[str]) -> Database:
    """A connection to *target*: a PostgreSQL URL, or an SQLite file (created if missing).

    Raises
    ------
    sqlite3.DatabaseError, psycopg.Error
        The file or server cannot be opened (the caller says which registry).
    """
    if is_postgres_url(target):
        # Imported on use: only a PostgreSQL registry needs it (start-up time).
        import psycopg

        connection = psycopg.connect(str(target), autocommit=True)
        return Database(connection, "postgresql", safe_label(target))
    connection = sqlite3.connect(Path(target), isolation_level=None, timeout=_SQLITE_BUSY)
    connection.execute("PRAGMA foreign_keys = ON")
    # Write-ahead log: a commit is one append and one fsync (synchronous=FULL keeps every
    # committed nonce across a power loss, so no replay window opens). Switching a new file
    # to WAL needs it to itself, and SQLite answers "locked" at once, without waiting, while
    # another process opens or migrates it: try again until the busy time-out.
    deadline = time.monotonic() + _SQLITE_BUSY
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                connection.close()
                raise
            time.sleep(0.02)
    connection.execute("PRAGMA synchronous = FULL")
    return Database(connection, "sqlite", str(target))
