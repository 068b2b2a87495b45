"""An append-only JSONL file of finished jobs: one row a line, written and fsynced as each job finishes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from smugkit.errors import InputError


def _job_field(row: dict) -> str:
    return row["job"]


def _header_id(row: dict) -> str | None:
    job = row.get("job")
    return job if isinstance(job, str) and job.startswith("#") else None


class JobStore:
    """Finished rows by job id, backed by ``path`` (JSONL); a later row for the same id replaces an earlier.

    ``key`` gives the job id of a stored row; by default rows carry it in a ``"job"`` field, which
    :meth:`append` adds. With a custom ``key`` (ids derived from row fields) rows are written unchanged.
    Rows whose id starts with ``#`` (a run's header: schema and host facts) always carry it in ``"job"``.
    """

    def __init__(self, path: str | Path, key: Callable[[dict], str] | None = None) -> None:
        self.path = Path(path)
        self._adds_id = key is None
        self.key = key or _job_field
        self.rows: dict[str, dict] = {}
        self._load()

    def _load(self) -> None:
        """Read finished rows; a torn last line (a write cut short by a kill) is dropped from the file."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        good = data.rfind(b"\n") + 1  # everything after the last newline was never completed
        lines = data[:good].decode().splitlines()
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{self.path}:{n}: not a JSON row ({e.msg}); the job log is damaged") from e
            self.rows[_header_id(row) or self.key(row)] = row
        if good < len(data):
            with self.path.open("r+b") as fh:
                fh.truncate(good)

    def __contains__(self, job_id: str) -> bool:
        return job_id in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, job_id: str) -> dict | None:
        """The finished row of ``job_id``, or None."""
        return self.rows.get(job_id)

    def append(self, job_id: str, row: dict) -> dict:
        """Write ``row`` as one line and fsync it before returning, so a finished job survives any interruption."""
        if self._adds_id or job_id.startswith("#"):
            row = {"job": job_id, **row}
        elif self.key(row) != job_id:
            raise ValueError(f"row is keyed {self.key(row)!r}, not by its job id {job_id!r}")
        line = json.dumps(row) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        self.rows[job_id] = row
        return row
