"""What every batch output carries once per run: the schema version of its rows and the host's facts."""

from __future__ import annotations

import os
import platform
import socket
from datetime import UTC, datetime

#: version of the rows in results.jsonl / summary.csv; bumped when a column changes meaning or goes away
SCHEMA_VERSION = 1


def host_facts() -> dict:
    """smugkit, Python, OS, CPU count and host name of this machine."""
    import smugkit

    return {
        "smugkit": smugkit.__version__,
        "python": platform.python_version(),
        "os": platform.platform(),
        "cpus": os.cpu_count(),
        "host": socket.gethostname(),
    }


def run_header(**extra) -> dict:
    """The first row a run appends to a results log: schema, time, host facts and ``extra`` (the executor...).

    Its ``job`` starts with ``#``, which readers of the log skip as a header rather than an item.
    """
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return {"job": f"#run {now}", "schema": SCHEMA_VERSION, "started": now, **host_facts(), **extra}


def worker_tag() -> str:
    """``host:pid`` of the process running a job, recorded in its row."""
    return f"{socket.gethostname()}:{os.getpid()}"
