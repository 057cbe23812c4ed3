from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A real `accord serve` (uvicorn) on a free port with a fresh database."""
    instance = Server(tmp_path / "accord.db", env={"ACCORD_ROOM_UNLOAD_SECONDS": "0.5"}).start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for a whole test module, for tests that do not disturb each other."""
    instance = Server(tmp_path_factory.mktemp("shared") / "accord.db").start()
    yield instance
    instance.stop()
