"""`accord backup` copies the live database while people edit; `accord restore` brings it
back, and every document comes back byte for byte as it was when the copy was taken."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.helpers import Server, SyncClient
from tests.people_helpers import accord


def texts(server: Server) -> dict[str, str]:
    listing = httpx.get(server.url + "/api/documents", headers=server.headers).json()
    return {d["id"]: server.markdown(d["id"]) for d in listing["documents"]}


def test_backup_during_editing_restores_every_document(tmp_path: Path) -> None:
    server = Server(tmp_path / "live.db").start()
    backup_file = tmp_path / "copy.db"
    try:
        ids = [server.create_document(f"Estatuto {i}") for i in range(3)]

        async def edit_backup_edit() -> dict[str, str]:
            clients = [await SyncClient(server.ws_url, d).connect() for d in ids]
            for round_ in range(30):
                for c in clients:
                    await c.edit(0, f"ronda {round_}: ñandú 📜\n")
            snapshot = texts(server)  # everything typed so far is committed (API settles)
            result = await asyncio.to_thread(
                accord, "backup", str(backup_file), "--db", str(server.db)
            )
            assert result.returncode == 0, result.stderr
            assert "integrity ok" in result.stdout
            for c in clients:  # editing goes on after the copy
                await c.edit(0, "después de la copia\n")
            for c in clients:
                await c.close()
            return snapshot

        snapshot = asyncio.run(edit_backup_edit())
        assert all("ronda 29" in text for text in snapshot.values())
        # a second backup to the same name is refused
        again = accord("backup", str(backup_file), "--db", str(server.db))
        assert again.returncode == 1 and "exists" in again.stderr
    finally:
        server.stop()

    restored = Server(tmp_path / "restored.db", token=server.token)
    result = accord("restore", str(backup_file), "--db", str(restored.db))
    assert result.returncode == 0, result.stderr
    restored.start()
    try:
        after = texts(restored)
        assert after == snapshot  # byte for byte, every document
        assert not any("después" in text for text in after.values())
    finally:
        restored.stop()


def test_restore_refuses_a_damaged_backup(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    result = accord("restore", str(bad), "--db", str(tmp_path / "x.db"))
    assert result.returncode == 1
    assert "integrity check" in result.stderr and "Traceback" not in result.stderr
    missing = accord("restore", str(tmp_path / "nope.db"), "--db", str(tmp_path / "x.db"))
    assert missing.returncode == 1 and "no backup" in missing.stderr
