"""Connect to MongoDB: a given URI, or the embedded server of the data directory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mongoengine
import pymongo
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import ConfigurationError, OperationFailure, PyMongoError

try:
    from pymongo.uri_parser import parse_uri
except ImportError:  # pymongo >= 4.14 moved it
    from pymongo.synchronous.uri_parser import parse_uri

from imagerepo_tui.config import Settings, redact_uri
from imagerepo_tui.errors import DatabaseUnavailableError
from imagerepo_tui.store.embedded import Credential, join_embedded_server

DEFAULT_DB_NAME = "imagerepo"
ALIAS = mongoengine.DEFAULT_CONNECTION_NAME
# Long enough for a busy server, short enough that a dead one is reported in seconds
# rather than after pymongo's default 30 s per operation.
SERVER_SELECTION_TIMEOUT_MS = 5000
CLOSE_TIMEOUT_S = 1.0
CLIENT_OPTIONS: dict[str, Any] = {
    # Acknowledged only once journaled: an upload we report is an upload that survives.
    "journal": True,
    "serverSelectionTimeoutMS": SERVER_SELECTION_TIMEOUT_MS,
    # Also the heartbeat's timeout, and a heartbeat that times out interrupts every
    # operation in flight. SecantusDB serving a long scan may take seconds to answer
    # one on a busy machine: at 3 s a healthy server's check, backup or count was
    # cancelled as "cannot reach MongoDB". A server that is down is still reported
    # within SERVER_SELECTION_TIMEOUT_MS (a refused connection fails at once); a
    # network cut in mid-operation is noticed after this long instead.
    "connectTimeoutMS": 30_000,
    "appname": "imagerepo-tui",
    "tz_aware": True,
    "uuidRepresentation": "standard",
}


@dataclass
class Store:
    """An open connection, with what a status line needs to say about it."""

    client: MongoClient[dict[str, Any]]
    db: Database[dict[str, Any]]
    description: str
    embedded: bool
    # True for SecantusDB (embedded or reached by URI): its planner uses an index
    # only for whole-filter shapes, so paging and filters are shaped for it.
    simple_planner: bool = False

    def close(self) -> None:
        # Closing ends the server's sessions, a courtesy the driver waits a whole
        # server selection for: after the server has gone (an import stopped by it),
        # exiting took 5 s longer. Bounded; the server drops idle sessions itself.
        with pymongo.timeout(CLOSE_TIMEOUT_S):
            mongoengine.disconnect(ALIAS)


def database_name(uri: str) -> str:
    """The database a URI names, or the default one."""
    try:
        return parse_uri(uri).get("database") or DEFAULT_DB_NAME
    except (ConfigurationError, ValueError) as error:
        raise DatabaseUnavailableError(
            f"invalid database URI {redact_uri(uri)!r}: {error}"
        ) from None


def _connect(db_name: str, uri: str, extra: dict[str, Any]) -> MongoClient[dict[str, Any]]:
    mongoengine.disconnect(ALIAS)
    mongoengine.connect(db=db_name, host=uri, alias=ALIAS, **CLIENT_OPTIONS, **extra)
    client: MongoClient[dict[str, Any]] = mongoengine.get_connection(ALIAS)
    try:
        client.admin.command("ping")
    except BaseException:
        mongoengine.disconnect(ALIAS)
        raise
    return client


def _connect_embedded(uri: str, credential: Credential) -> MongoClient[dict[str, Any]]:
    account = {
        "username": credential.user,
        "password": credential.password,
        "authSource": "admin",
        "authMechanism": "SCRAM-SHA-256",
        "directConnection": True,
    }
    return _connect(DEFAULT_DB_NAME, uri, account)


def describe_failure(error: BaseException, where: str) -> str:
    """One line for why the database at ``where`` cannot be used."""
    if isinstance(error, OperationFailure) and error.code in (13, 18):
        return f"MongoDB at {where} refused the credentials ({error.details or error})"
    text = str(error).split(", Timeout:")[0].split(" (configured timeouts")[0]
    return f"cannot reach MongoDB at {where}: {text}"


def open_store(settings: Settings) -> Store:
    """Connect and ping; raises ``DatabaseUnavailableError`` with a one-line reason."""
    if settings.db_uri:
        uri = settings.db_uri
        where = redact_uri(uri)
        db_name = database_name(uri)
        try:
            client = _connect(db_name, uri, {})
        except (PyMongoError, ValueError, TypeError) as error:
            raise DatabaseUnavailableError(describe_failure(error, where)) from None
        return Store(client, client[db_name], where, False, _is_secantus(client))
    data_dir = settings.data_dir
    try:
        client = join_embedded_server(data_dir, settings.embedded_idle_seconds, _connect_embedded)
    except PyMongoError as error:
        raise DatabaseUnavailableError(describe_failure(error, f"embedded:{data_dir}")) from None
    except OSError as error:
        raise DatabaseUnavailableError(
            f"cannot use the data directory {data_dir}: {error.strerror or error}"
        ) from None
    return Store(client, client[DEFAULT_DB_NAME], f"embedded {data_dir}", True, True)


def _is_secantus(client: MongoClient[dict[str, Any]]) -> bool:
    try:
        return "secantusVersion" in client.admin.command("buildInfo")
    except PyMongoError:
        return False
