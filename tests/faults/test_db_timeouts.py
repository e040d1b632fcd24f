"""The database timeouts (settings.py, ``common.postgresql``): no process waits on PostgreSQL without end.

Each test runs the project's own settings in a child process against a PostgreSQL server of its own
(initialised into a temporary folder, so it can be frozen), whatever database the suite runs on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from tests.faults.stack import Postgres, faults_dir
from tests.processes import SettingsChild as Child

# With the fault suite: it runs its own PostgreSQL server, whatever database the rest of the suite uses.
pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    with faults_dir() as base:  # a folder the server's own user can reach
        pg = Postgres.initialise(base / "data")
        pg.start()
        yield pg
        pg.stop()


def test_each_session_carries_the_configured_timeouts(server: Postgres) -> None:
    shows = [
        "SHOW statement_timeout",
        "SHOW lock_timeout",
        "SHOW idle_in_transaction_session_timeout",
        "SHOW synchronous_commit",
    ]
    defaults = Child(server.url_of("postgres"), shows)
    chosen = Child(
        server.url_of("postgres"),
        shows,
        DB_STATEMENT_TIMEOUT="1.5",
        DB_LOCK_TIMEOUT="0",
        DB_IDLE_IN_TRANSACTION_TIMEOUT="60",
        DB_SYNCHRONOUS_COMMIT="off",
    )
    try:
        assert [defaults.run()[0] for _ in shows] == ["5s", "3s", "30s", "on"]
        assert [chosen.run()[0] for _ in shows] == ["1500ms", "0", "1min", "off"]
    finally:
        defaults.close()
        chosen.close()


def test_a_slow_statement_ends_at_the_statement_timeout(server: Postgres) -> None:
    child = Child(server.url_of("postgres"), ["SELECT pg_sleep(10)"], DB_STATEMENT_TIMEOUT="1")
    try:
        outcome, seconds = child.run()
    finally:
        child.close()
    assert outcome.startswith("OperationalError: canceling statement due to statement timeout"), outcome
    assert 1 <= seconds < 2


def test_a_lock_wait_ends_at_the_lock_timeout(server: Postgres) -> None:
    with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="postgres") as holder:
        holder.execute("CREATE TABLE IF NOT EXISTS held (id int)")
        holder.commit()
        holder.execute("LOCK TABLE held IN ACCESS EXCLUSIVE MODE")
        child = Child(server.url_of("postgres"), ["SELECT count(*) FROM held"], DB_LOCK_TIMEOUT="1")
        try:
            outcome, seconds = child.run()
        finally:
            child.close()
    assert outcome.startswith("OperationalError: canceling statement due to lock timeout"), outcome
    assert 1 <= seconds < 2


def test_a_transaction_left_idle_is_ended_by_the_server(server: Postgres) -> None:
    child = Child(server.url_of("postgres"), ["BEGIN", "SELECT 1"], DB_IDLE_IN_TRANSACTION_TIMEOUT="1")
    try:
        assert child.run()[0] == "ok"
        time.sleep(1.5)  # idle inside the transaction, past the timeout
        outcome, _ = child.run()
    finally:
        child.close()
    assert "terminating connection due to idle-in-transaction timeout" in outcome, outcome


def test_a_frozen_server_costs_a_bounded_wait_then_a_bounded_connect(server: Postgres) -> None:
    """SIGSTOP: the server's sockets stay open and silent, so only the client's own limits end the wait."""
    child = Child(
        server.url_of("postgres"),
        ["SELECT 1", "SELECT 2", "SELECT 3"],
        DB_STATEMENT_TIMEOUT="1",
        DB_CONNECT_TIMEOUT="2",
    )
    try:
        assert child.run()[0] == "1"  # connected, the connection kept
        server.freeze()
        try:
            on_open_connection = child.run()
            on_new_connection = child.run()
        finally:
            server.thaw()
    finally:
        child.close()
    # The open connection: statement timeout + 2 s, then closed.
    assert on_open_connection[0].startswith("OperationalError: the database did not answer within 3.0 s")
    assert 3 <= on_open_connection[1] < 4
    # A new one: libpq's connect_timeout.
    assert on_new_connection[0].startswith("OperationalError"), on_new_connection
    assert 2 <= on_new_connection[1] < 3
