"""Job records on disk: one JSON file per job, written atomically, newest state wins.

Records are snapshots taken under the queue's lock, each with a number that
grows with every snapshot; they are written outside that lock (a slow disk
must not stall progress reports). Two threads can therefore arrive here out
of order (a request thread's "queued" after another's "cancelled"): a
snapshot older than the one already written for its job is dropped, so a
late write can never put a job back into an earlier state.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from .. import output

log = logging.getLogger("impasto.studio")


class Records:
    """The folder of job records and the newest snapshot number written for each job."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # only ever taken after the queue's lock is released
        self._written: dict[str, int] = {}

    def write(self, version: int, record: dict[str, Any]) -> bool:
        """Write ``record`` unless a newer snapshot of its job was written; True if written."""
        job_id = record["id"]
        path = self.folder / f"{job_id}.json"
        text = json.dumps(record, sort_keys=True)
        with self._lock:
            if self._written.get(job_id, -1) >= version:
                return False  # stale: the job has moved on since this snapshot was taken
            try:
                output.atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
            except OSError:  # a full disk should not stop the studio; the job itself is in memory
                log.exception("could not write %s", path)
                return False
            self._written[job_id] = version
            return True

    def read(self) -> list[dict[str, Any]]:
        """Every readable record, oldest file name first; unreadable ones are skipped with a warning."""
        found = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                log.warning("ignoring unreadable job record %s", path)
                continue
            if isinstance(data, dict) and data.get("id") == path.stem:
                found.append(data)
        return found
