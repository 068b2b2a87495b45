"""What every output carries once per run: the schema version of its records and the host's facts.

JSON files carry them as ``"schema"`` and ``"host"`` keys (`stamped`), JSONL logs as a first ``#run`` row
(`run_header`) each run, CSV files as a first ``#`` line (`csv_preamble`).
"""

from __future__ import annotations

import functools
import os
import platform
import socket
from datetime import UTC, datetime

#: version of smugkit's written records (results.jsonl, summary.csv, explanation.json, bench and evaluate
#: tables); bumped when a field changes meaning or goes away
SCHEMA_VERSION = 1


@functools.lru_cache(maxsize=1)
def _facts() -> tuple[tuple[str, object], ...]:
    import smugkit

    return (
        ("smugkit", smugkit.__version__),
        ("python", platform.python_version()),
        ("os", platform.platform()),
        ("cpus", os.cpu_count()),
        ("host", socket.gethostname()),
    )


def host_facts() -> dict:
    """smugkit, Python, OS, CPU count and host name of this machine."""
    return dict(_facts())


def stamped(record: dict) -> dict:
    """``record`` with the schema version and the host's facts in front (a JSON file's once-per-run facts)."""
    return {"schema": SCHEMA_VERSION, "host": host_facts(), **record}


def unstamped(record: dict) -> dict:
    """``record`` without what `stamped` added (for loaders that build objects from the rest)."""
    return {k: v for k, v in record.items() if k not in ("schema", "host")}


def csv_preamble() -> str:
    """The first line of every CSV smugkit writes: ``# schema=1 smugkit=... python=... os=... cpus=... host=...``
    (read the table with ``comment="#"`` in pandas, or skip the line)."""
    return "# " + " ".join(f"{k}={v}" for k, v in {"schema": SCHEMA_VERSION, **host_facts()}.items()) + "\n"


def run_header(**extra) -> dict:
    """The first row a run appends to a results log: schema, time, host facts and ``extra`` (the executor...).

    Its ``job`` starts with ``#``, which readers of the log skip as a header rather than an item.
    """
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return {"job": f"#run {now}", "schema": SCHEMA_VERSION, "started": now, **host_facts(), **extra}


def worker_tag() -> str:
    """``host:pid`` of the process running a job, recorded in its row."""
    return f"{socket.gethostname()}:{os.getpid()}"
