"""Fixtures for the fault-injection suite: a migrated PostgreSQL built once, a fresh stack per test."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.stack import Postgres, Stack, build_template, faults_dir, summaries
from tests.processes import ROOT

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def faults_base() -> Iterator[Path]:
    with faults_dir() as base:
        yield base


@pytest.fixture(scope="session")
def pg_template(faults_base: Path) -> Postgres:
    return build_template(faults_base)


@pytest.fixture
def make_stack(
    pg_template: Postgres, faults_base: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Stack]]:
    """``make_stack(**env)`` enters a new stack; everything it started is stopped when the test ends."""
    opened: list[Stack] = []

    def make(**options: Any) -> Stack:
        # Short folder names: PostgreSQL's socket path lives inside and must stay under 107 characters.
        folder = faults_base / f"{next(_numbers):02d}-{request.node.name[5:30]}"
        stack = Stack(pg_template, folder, **options)
        opened.append(stack)
        return stack.__enter__()

    yield make
    for stack in reversed(opened):
        stack.__exit__(None, None, None)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = [summary.line() for summary in summaries()]
    if not lines:
        return
    terminalreporter.section("fault-injection numbers")
    for line in lines:
        terminalreporter.write_line(line)
    (ROOT / "data").mkdir(exist_ok=True)
    (ROOT / "data" / "faults-summary.txt").write_text("\n".join(lines) + "\n")
