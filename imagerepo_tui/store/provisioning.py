"""Give an embedded library's server its one account, with nobody else able to connect
while it is made.

SecantusDB has no "localhost exception": an account is created by connecting to a
server started without ``--auth``. On 127.0.0.1 every local account could connect in
that moment and read an older library, or plant an account of its own. So that server
runs behind mutual TLS with a certificate authority made for this one run and thrown
away after: a client without the client certificate (only in the owner's private
data directory) cannot even finish the handshake.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from imagerepo_tui.datadir import PROVISIONING_PREFIX
from imagerepo_tui.store.embedded import Credential

READY_TIMEOUT_S = 60.0
USER_ALREADY_EXISTS = 51003
ACCOUNT_ROLES = [{"role": "root", "db": "admin"}]
# Databases whose accounts are checked for intruders besides those listDatabases names.
ALWAYS_CHECKED = ("admin", "imagerepo", "test")

ServerCommand = Callable[[int, list[str]], list[str]]
StartServer = Callable[[list[str]], "subprocess.Popen[bytes]"]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ) + certificate.public_bytes(serialization.Encoding.PEM)


def _builder(
    subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
    )


def write_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate,
    as PEM files in ``folder``: (ca, server, client)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        _builder("imagerepo-tui provisioning CA", _name("imagerepo-tui provisioning CA"), ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = []
    for role, usage in (
        ("server", ExtendedKeyUsageOID.SERVER_AUTH),
        ("client", ExtendedKeyUsageOID.CLIENT_AUTH),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = _builder(f"imagerepo-tui {role}", ca.subject, key).add_extension(
            x509.ExtendedKeyUsage([usage]), critical=False
        )
        if role == "server":
            address = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
            builder = builder.add_extension(x509.SubjectAlternativeName([address]), critical=False)
        path = folder / f"{role}.pem"
        path.write_bytes(_pem(key, builder.sign(ca_key, hashes.SHA256())))
        paths.append(path)
    ca_path = folder / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ca_path, paths[0], paths[1]


def _set_account(client: MongoClient[dict[str, Any]], credential: Credential) -> None:
    admin = client.admin
    try:
        admin.command("createUser", credential.user, pwd=credential.password, roles=ACCOUNT_ROLES)
    except OperationFailure as error:
        if error.code != USER_ALREADY_EXISTS:
            raise
        admin.command("updateUser", credential.user, pwd=credential.password, roles=ACCOUNT_ROLES)


def _drop_other_accounts(client: MongoClient[dict[str, Any]], credential: Credential) -> list[str]:
    """Accounts nobody here made: while an older version ran without authentication,
    anyone on the machine could have added one to come back with later."""
    names = {str(name) for name in client.list_database_names()} | set(ALWAYS_CHECKED)
    dropped = []
    for name in sorted(names):
        for user in client[name].command("usersInfo", 1).get("users", []):
            username = user.get("user")
            if isinstance(username, str) and (name, username) != ("admin", credential.user):
                client[name].command("dropUser", username)
                dropped.append(f"{username}@{name}")
    return dropped


def _wait_until_ready(client: MongoClient[dict[str, Any]], server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"secantusd exited with status {server.returncode} while provisioning")
        with contextlib.suppress(PyMongoError):
            client.admin.command("ping")
            return
        time.sleep(0.05)
    raise SystemExit("secantusd did not answer a ping in time while provisioning")


@contextlib.contextmanager
def _private_server(
    data_dir: Path, port: int, command: ServerCommand, start: StartServer
) -> Iterator[MongoClient[dict[str, Any]]]:
    """The library's server without authentication, reachable only through mutual TLS
    with certificates that live in a scratch folder of the data directory."""
    with tempfile.TemporaryDirectory(prefix=PROVISIONING_PREFIX, dir=data_dir) as scratch:
        ca, server_pem, client_pem = write_certificates(Path(scratch))
        tls = ["--tls-cert-file", str(server_pem), "--tls-key-file", str(server_pem)]
        tls += ["--tls-ca-file", str(ca), "--tls-require-client-cert"]
        server = start(command(port, tls))
        client: MongoClient[dict[str, Any]] = MongoClient(
            f"mongodb://127.0.0.1:{port}/",
            tls=True,
            tlsCAFile=str(ca),
            tlsCertificateKeyFile=str(client_pem),
            directConnection=True,
            serverSelectionTimeoutMS=500,
            appname="imagerepo-tui-provisioning",
        )
        try:
            _wait_until_ready(client, server)
            yield client
        finally:
            client.close()
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def provision(
    data_dir: Path, credential: Credential, port: int, command: ServerCommand, start: StartServer
) -> list[str]:
    """Make ``credential`` the server's one account; returns the accounts dropped."""
    with _private_server(data_dir, port, command, start) as client:
        _set_account(client, credential)
        return _drop_other_accounts(client, credential)
