"""A TLS front for the Temporal dev server, which has no TLS flags of its own.

It terminates TLS the way a production frontend (or Temporal Cloud's edge) does, optionally
requiring a client certificate signed by the test CA, and forwards the decrypted HTTP/2 stream to
the dev server's plain port. It decodes the client's HTTP/2 HEADERS frames (HPACK) so a test can
check what the SDK actually sent, e.g. ``authorization: Bearer <api key>``.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import hpack
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def make_pki(directory: Path) -> Pki:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "awoooi test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))

    def leaf(name: str, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName]) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                   .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                  critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM), key

    pki = Pki(*(directory / n for n in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")))
    pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    server, server_key = leaf("localhost", x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                              [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client, client_key = leaf("awoooi-worker", x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH, [])
    pki.server_cert.write_bytes(server)
    _write_key(pki.server_key, server_key)
    pki.client_cert.write_bytes(client)
    _write_key(pki.client_key, client_key)
    return pki


@dataclass
class TlsProxy:
    pki: Pki
    upstream: str
    require_client_cert: bool = True
    headers: list[dict[str, str]] = field(default_factory=list)
    peers: list[str] = field(default_factory=list)
    handshake_failures: int = 0
    port: int = 0
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> TlsProxy:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.pki.server_cert, self.pki.server_key)
        context.set_alpn_protocols(["h2"])
        if self.require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(self.pki.ca)
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=context,
                                                  ssl_handshake_timeout=5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert")
        if peer:
            self.peers.append(dict(x[0] for x in peer["subject"])["commonName"])
        host, port = self.upstream.rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(self._pump(reader, up_writer, decode=True), self._pump(up_reader, writer, decode=False),
                             return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, decode: bool) -> None:
        buffer = b""
        decoder = hpack.Decoder()
        preface_seen = False
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
                if not decode:
                    continue
                buffer += data
                if not preface_seen and len(buffer) >= len(_PREFACE):
                    buffer, preface_seen = buffer[len(_PREFACE):], True
                while preface_seen and len(buffer) >= 9:
                    length = int.from_bytes(buffer[:3], "big")
                    if len(buffer) < 9 + length:
                        break
                    kind, flags, payload = buffer[3], buffer[4], buffer[9:9 + length]
                    buffer = buffer[9 + length:]
                    if kind == 1:  # HEADERS (CONTINUATION is not used by tonic for small blocks)
                        pad = payload[0] if flags & 0x8 else 0
                        start = (1 if flags & 0x8 else 0) + (5 if flags & 0x20 else 0)
                        block = payload[start:len(payload) - pad]
                        self.headers.append({k: v for k, v in decoder.decode(block)})
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
