"""MySQL 8 signs in with caching_sha2_password by default. Over a connection without TLS, PyMySQL sends the
password RSA-encrypted with the server's public key, which needs ``cryptography`` (PyMySQL's ``rsa``
extra); without it, every sign-in ends in "'cryptography' package is required for sha256_password or
caching_sha2_password". MariaDB has no caching_sha2_password, so a small stand-in server plays MySQL 8's
side of the handshake here: fast authentication misses, the client asks for the public key, and the server
decrypts what arrives.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import socket
import struct
import threading
from collections.abc import Iterator

import pymysql
import pymysql._auth
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from desktop_auth.db.engine import Database
from desktop_auth.db.errors import DatabaseUnavailableError
from tests.conftest import make_settings

PASSWORD = "Mysql8-pass-41d0"
SALT = bytes(range(65, 85))  # 20 bytes, printable, no NUL
# PROTOCOL_41 | SECURE_CONNECTION | LONG_PASSWORD; PLUGIN_AUTH in the upper half. No SSL: the password
# must travel RSA-encrypted.
CAPABILITIES_LOW, CAPABILITIES_HIGH = 0x0200 | 0x8000 | 0x0001, 0x0008
OK_PACKET = b"\x00\x00\x00\x00\x00\x00\x00"


class Mysql8StandIn:
    """Accepts connections on 127.0.0.1 and runs MySQL 8's caching_sha2_password full authentication;
    ``received`` holds each password it decrypted."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.received: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._serve, name="mysql8-stand-in", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            # ValueError: the client gave up half-way (as it does without cryptography).
            with client, contextlib.suppress(OSError, ValueError):
                self._handshake(client)

    def _handshake(self, client: socket.socket) -> None:
        stream = client.makefile("rb")

        def send(sequence: int, payload: bytes) -> None:
            client.sendall(len(payload).to_bytes(3, "little") + bytes([sequence]) + payload)

        def receive() -> tuple[int, bytes]:
            header = stream.read(4)
            if len(header) < 4:
                raise ValueError("the client closed the connection")
            return header[3], stream.read(int.from_bytes(header[:3], "little"))

        greeting = (
            b"\x0a8.0.36\x00"
            + struct.pack("<I", 1)
            + SALT[:8]
            + b"\x00"
            + struct.pack("<HBHHB", CAPABILITIES_LOW, 45, 0, CAPABILITIES_HIGH, len(SALT) + 1)
            + b"\x00" * 10
            + SALT[8:]
            + b"\x00caching_sha2_password\x00"
        )
        send(0, greeting)
        sequence, _scramble = receive()  # fast authentication: this server has nothing cached
        send(sequence + 1, b"\x01\x04")  # perform full authentication
        sequence, request = receive()
        if request != b"\x02":
            raise ValueError(f"expected a request for the public key, got {request!r}")
        public_key = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        send(sequence + 1, b"\x01" + public_key)
        sequence, encrypted = receive()
        scrambled = self.key.decrypt(
            encrypted,
            padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
        )
        self.received.append(bytes(byte ^ SALT[i % len(SALT)] for i, byte in enumerate(scrambled)))
        send(sequence + 1, OK_PACKET)
        while True:  # the client's set-up (SET NAMES): OK to everything until COM_QUIT
            sequence, command = receive()
            if command[:1] == b"\x01":
                return
            send(sequence + 1, OK_PACKET)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def mysql8() -> Iterator[Mysql8StandIn]:
    server = Mysql8StandIn()
    yield server
    server.close()


def test_the_rsa_extra_is_a_dependency() -> None:
    requirements = [r.replace(" ", "").lower() for r in importlib.metadata.requires("desktop-auth") or []]
    assert any(r.startswith("pymysql[rsa]") for r in requirements), requirements


def test_caching_sha2_full_authentication_sends_the_password_rsa_encrypted(mysql8: Mysql8StandIn) -> None:
    connection = pymysql.connect(
        host="127.0.0.1", port=mysql8.port, user="app", password=PASSWORD, connect_timeout=5
    )
    connection.close()
    assert mysql8.received == [PASSWORD.encode() + b"\0"]


def test_without_cryptography_the_app_says_what_is_missing(
    mysql8: Mysql8StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a broken installation (a bundle without cryptography) shows: one line, not a traceback."""
    monkeypatch.setattr(pymysql._auth, "_have_cryptography", False)
    database = Database(make_settings(f"mysql+pymysql://app:{PASSWORD}@127.0.0.1:{mysql8.port}/app"))
    try:
        with pytest.raises(DatabaseUnavailableError) as caught:
            database.ping()
    finally:
        database.dispose()
    assert "needs the 'cryptography' package; reinstall desktop-auth" in caught.value.message
    assert PASSWORD not in caught.value.message
    assert mysql8.received == []
