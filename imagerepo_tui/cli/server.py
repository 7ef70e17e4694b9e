"""``server uri|status|stop``: the embedded database seen from outside the app.

These never open the library (no login, no schema upgrade): they are about the
server process and how other MongoDB clients reach it.
"""

from __future__ import annotations

import argparse
import time

from imagerepo_tui import embedded_server
from imagerepo_tui.cli.output import Output
from imagerepo_tui.cli.parser import UsageError
from imagerepo_tui.config import Settings
from imagerepo_tui.textsafe import visible

NOT_EMBEDDED = (
    "server commands are about the embedded database; with --db (or IMAGEREPO_DB) "
    "the database is yours to manage with its own tools"
)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def server_status(settings: Settings, out: Output) -> None:
    status = embedded_server.status(settings)
    running = status.running
    if out.as_json:
        out.json(
            {
                "data_dir": str(status.data_dir),
                "running": running is not None,
                "address": running.uri.split("://", 1)[1].strip("/") if running else None,
                "pid": running.pid if running else None,
                "authentication": running.authenticated if running else None,
                "idle_stop_seconds": running.idle_seconds if running else None,
                "storage_bytes": status.storage_bytes,
            }
        )
        return
    out.line(f"data dir      {visible(str(status.data_dir))}")
    out.line(f"storage       {_megabytes(status.storage_bytes)}")
    if running is None:
        out.line("server        not running (the next command starts it)")
        return
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(running.started))
    out.line(f"server        running since {since}, pid {running.pid}")
    out.line(f"address       {running.uri.split('://', 1)[1].strip('/')} (this machine only)")
    out.line(
        "access        "
        + (
            "password required (see `server uri`)"
            if running.authenticated
            else "OPEN to local users"
        )
    )
    if running.idle_seconds is not None:
        out.line(f"idle stop     after {running.idle_seconds:g} s without clients")


def server_uri(settings: Settings, out: Output) -> None:
    uri = embedded_server.connection_string(settings)
    if out.as_json:
        out.json({"uri": uri})
    else:
        out.line(uri)
    out.note(
        "keep it secret: it opens every image of this library. The server stops after "
        f"{settings.embedded_idle_seconds:g} s without clients and gets a new port when "
        "it starts again."
    )


def server_stop(settings: Settings, out: Output) -> None:
    stopped = embedded_server.stop(settings)
    out.note(
        "stopped the embedded database" if stopped else "the embedded database was not running"
    )


ACTIONS = {"status": server_status, "uri": server_uri, "stop": server_stop}


def run_server_command(settings: Settings, args: argparse.Namespace, out: Output) -> None:
    if settings.db_uri:
        raise UsageError(NOT_EMBEDDED)
    ACTIONS[args.action or "status"](settings, out)
