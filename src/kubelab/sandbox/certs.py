"""The sandbox's own certificate authority and serving certificate.

client-go refuses to send a bearer token over plain HTTP, and rightly so; a real cluster's
API server serves TLS with a certificate signed by the cluster CA, and the kubeconfig carries
that CA (``certificate-authority-data``). The sandbox does the same, with a CA made once per
sandbox and a serving certificate for ``127.0.0.1``/``localhost`` (kubeadm's
``apiserver.crt`` equivalent). Keys are written with mode 0600.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServingCerts:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def ssl_context(self, directory: Path) -> ssl.SSLContext:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        cert = directory / "apiserver.crt"
        key = directory / "apiserver.key"
        cert.write_bytes(self.cert_pem + self.ca_pem)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.key_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        return context


def make(now: _dt.datetime) -> ServingCerts:
    """A fresh CA ("kubernetes", like kubeadm's) and a serving cert for the loopback address.

    ``cryptography`` is imported here, not at module level: a restarted sandbox reuses its
    certificates and never pays for the import.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def _name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    start = now - _dt.timedelta(minutes=5)
    ca = (x509.CertificateBuilder()
          .subject_name(_name("kubernetes")).issuer_name(_name("kubernetes"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(start + _dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    alt = x509.SubjectAlternativeName([
        x509.DNSName("localhost"), x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default.svc"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("10.96.0.1")),
    ])
    cert = (x509.CertificateBuilder()
            .subject_name(_name("kube-apiserver")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + _dt.timedelta(days=365))
            .add_extension(alt, critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return ServingCerts(ca.public_bytes(serialization.Encoding.PEM),
                        cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def load_or_make(directory: Path, now: _dt.datetime) -> ServingCerts:
    """Reuse the sandbox's CA across restarts so kubeconfigs stay valid."""
    paths = [directory / n for n in ("ca.crt", "apiserver-only.crt", "apiserver.key")]
    if all(p.exists() for p in paths):
        return ServingCerts(paths[0].read_bytes(), paths[1].read_bytes(),
                            paths[2].read_bytes())
    certs = make(now)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths[0].write_bytes(certs.ca_pem)
    paths[1].write_bytes(certs.cert_pem)
    fd = os.open(paths[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(certs.key_pem)
    return certs
