"""Django's PostgreSQL backend with a client-side limit on how long a process waits for the server.

The server's own timeouts (``statement_timeout``, ``lock_timeout``, set per connection in settings) end a
statement that runs long on a server that still runs. A server that stops answering (frozen, or its host
gone without a word) leaves the socket open and silent: libpq would wait on it forever, and so would the
API request or the task. Here every wait for an answer on an open connection gives up after
``answer_timeout`` seconds, closes the connection and raises ``OperationalError``, which the API turns into
a 503 and a task into a retry. New connections are bounded by libpq's ``connect_timeout``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg import errors


class BoundedConnection(psycopg.Connection[Any]):
    answer_timeout: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        try:
            return super().wait(gen, interval, timeout if timeout is not None else self.answer_timeout)
        except errors._WaitTimeout:
            # The statement's state on the server is unknown: the connection cannot be used again.
            self.close()
            raise psycopg.OperationalError(
                f"the database did not answer within {self.answer_timeout} s; connection closed"
            ) from None


class DatabaseWrapper(base.DatabaseWrapper):
    # Django opens connections through ``self.Database.connect``; everything else is psycopg's own.
    Database = SimpleNamespace(**{**vars(psycopg), "connect": BoundedConnection.connect})

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        params.pop("answer_timeout", None)  # ours, not libpq's
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        connection.answer_timeout = self.settings_dict["OPTIONS"].get("answer_timeout")
        return connection
