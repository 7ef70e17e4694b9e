"""What opening a library and reading its first page ask the server: each round trip
comes before the first rows a user sees, so none is asked that the answer does not
need (the commands are counted with pymongo's command monitoring, in a process of
their own so that no listener outlives the test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from imagerepo_tui.records import PAGE_SIZE

_OPEN_AND_LIST = """
import json, sys
from pathlib import Path
from pymongo import MongoClient, monitoring
from benchmarks.library import fill
from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository

uri, count = sys.argv[1], int(sys.argv[2])
asked = []

class Listener(monitoring.CommandListener):
    def started(self, event):
        asked.append([event.command_name, str(event.command.get(event.command_name))])
    def succeeded(self, event): pass
    def failed(self, event): pass

monitoring.register(Listener())
settings = Settings(db_uri=uri, data_dir=Path(sys.argv[3]))
ImageRepository.open(settings).close()  # a new library: its indexes are made
fill(uri, count)
raw = MongoClient(uri).get_default_database()["images"]
raw.drop_index("file_id_1")  # lost somehow: made again on the next open
report = {}
for step in ("reopened", "again"):
    del asked[:]
    repo = ImageRepository.open(settings)
    opened = list(asked)
    repo.list_page(None, limit=int(sys.argv[4]))
    report[step] = {"open": opened, "page": asked[len(opened):]}
    report[step]["indexes"] = sorted(raw.index_information())
    repo.close()
print(json.dumps(report))
"""


def test_reopening_makes_only_missing_indexes_and_the_page_comes_in_one_batch(
    db_uri: str, tmp_path: Path
) -> None:
    sizes = [str(PAGE_SIZE + 10), str(tmp_path), str(PAGE_SIZE)]
    done = subprocess.run(
        [sys.executable, "-c", _OPEN_AND_LIST, db_uri, *sizes],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    made = [target for name, target in report["reopened"]["open"] if name == "createIndexes"]
    assert "images" in made and "file_id_1" in report["reopened"]["indexes"]
    # With every index there, none is asked for: one listing a collection instead.
    again = report["again"]["open"]
    assert [target for name, target in again if name == "createIndexes"] == [
        "fs.files",
        "fs.chunks",
    ]
    assert [target for name, target in again if name == "listIndexes"] == [
        "images",
        "collections",
        "users",
    ]
    assert report["again"]["indexes"] == report["reopened"]["indexes"]
    # A whole page of rows in the first batch: no getMore before it shows.
    assert [name for name, _ in report["again"]["page"] if name == "getMore"] == []
    assert any(name == "find" for name, _ in report["again"]["page"])
