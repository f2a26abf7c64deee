"""A self-signed certificate for the emulator's HTTPS listener.

kubectl (client-go) sends bearer tokens only over TLS: with an ``http://`` server it silently
drops the credentials. So the emulator serves HTTPS by default with a fresh EC certificate for
``127.0.0.1``/``localhost``, and kubeconfigs carry it as ``certificate-authority-data``.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@functools.lru_cache(maxsize=1)
def self_signed() -> tuple[bytes, bytes]:
    """``(certificate PEM, private key PEM)`` for 127.0.0.1 and localhost (cached per process)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "modeleval-apiserver-emulator")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def server_context() -> tuple[ssl.SSLContext, Path]:
    """An SSL context for the listener and the path of the certificate (the CA for clients)."""
    cert_pem, key_pem = self_signed()
    folder = Path(tempfile.mkdtemp(prefix="apiserver-tls-"))
    cert_file, key_file = folder / "ca.crt", folder / "tls.key"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
