"""X.509 for plant gateways: the platform root, per-tenant CAs, gateway and broker certificates.

Invariant: a tenant's CA can only ever vouch for names inside its own tenant. Each tenant
CA carries an X.509 name constraint (a DNS subtree `<tenant>.tocsin`) and every gateway
certificate's common name, which the broker takes as the MQTT username, lies in that
subtree. The broker (OpenSSL) checks the constraint on every handshake, so even a tenant
CA that signed a name of another tenant's gateway would be refused, not just a Tocsin bug.

Pure functions over PEM text; no database access, so each step is easy to test. Keys are
ECDSA P-256: small, fast to verify on the broker and supported by every TLS stack the
gateways carry.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NAME_SUFFIX = "tocsin"
PLATFORM_LABEL = "platform"


class CertificateRequestError(ValueError):
    """The CSR is unreadable, badly signed or uses a key type the broker would not take."""


@dataclass(frozen=True)
class KeyPair:
    cert_pem: str
    key_pem: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def load_key(pem: str):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def load_cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def tenant_domain(tenant_public_id: str) -> str:
    """The DNS subtree a tenant's CA may sign in (`ten-abc….tocsin`)."""
    return f"{tenant_public_id.replace('_', '-')}.{NAME_SUFFIX}"


def gateway_identity(*, tenant_public_id: str, device_public_id: str) -> str:
    """The certificate's CN and so the gateway's MQTT username."""
    return f"{device_public_id.replace('_', '-')}.{tenant_domain(tenant_public_id)}"


def platform_identity(role: str) -> str:
    """Tocsin's own clients (the bridge, the broker control client), signed by the root."""
    return f"{role}.{PLATFORM_LABEL}.{NAME_SUFFIX}"


def _name(common_name: str, organisation: str = "Tocsin") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca_extensions(builder: x509.CertificateBuilder, key, issuer_key, *, path_length: int | None):
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
    builder = builder.add_extension(x509.KeyUsage(
        digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
        key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
        decipher_only=False), critical=True)
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)


def create_root_ca(*, days: int = 3650) -> KeyPair:
    """The platform root: signs tenant CAs, the broker's server certificate and Tocsin's clients."""
    key = new_key()
    now = _now()
    builder = (x509.CertificateBuilder().subject_name(_name("Tocsin MQTT root CA")).issuer_name(
        _name("Tocsin MQTT root CA")).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days)))
    cert = _ca_extensions(builder, key, key, path_length=1).sign(key, hashes.SHA256())
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem(key))


def create_tenant_ca(*, root: KeyPair, tenant_public_id: str, tenant_name: str, days: int = 3650) -> KeyPair:
    """An intermediate CA that can only sign names in the tenant's own subtree."""
    root_cert, root_key = load_cert(root.cert_pem), load_key(root.key_pem)
    key = new_key()
    now = _now()
    builder = (x509.CertificateBuilder()
               .subject_name(_name(f"Tocsin tenant CA {tenant_domain(tenant_public_id)}", tenant_name[:64] or "-"))
               .issuer_name(root_cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days)))
    builder = _ca_extensions(builder, key, root_key, path_length=0)
    builder = builder.add_extension(x509.NameConstraints(
        permitted_subtrees=[x509.DNSName(tenant_domain(tenant_public_id))], excluded_subtrees=None), critical=True)
    cert = builder.sign(root_key, hashes.SHA256())
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem(key))


def _leaf(*, issuer: KeyPair, public_key, common_name: str, serial: int, days: int, client: bool,
          dns_names: list[str] = (), ip_addresses: list[str] = ()) -> str:
    issuer_cert, issuer_key = load_cert(issuer.cert_pem), load_key(issuer.key_pem)
    now = _now()
    builder = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(issuer_cert.subject)
               .public_key(public_key).serial_number(serial)
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                            data_encipherment=False, key_agreement=True, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client
                                                     else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    names = [x509.DNSName(name) for name in dns_names] + [x509.IPAddress(ipaddress.ip_address(ip))
                                                         for ip in ip_addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def sign_csr(*, csr_pem: str, issuer: KeyPair, common_name: str, serial: int, days: int = 825) -> str:
    """A client certificate for the CSR's key; the name is Tocsin's choice, never the CSR's.

    The CSR proves the gateway holds the private key (its self-signature is checked); the
    subject it asked for is ignored, so a gateway cannot ask for someone else's identity.
    """
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError as exc:
        raise CertificateRequestError("The CSR is not a PEM certificate signing request.") from exc
    if not csr.is_signature_valid:
        raise CertificateRequestError("The CSR's signature does not match its key.")
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) and getattr(public_key, "key_size", 0) < 2048:
        raise CertificateRequestError("The CSR's key must be ECDSA or RSA of at least 2048 bits.")
    return _leaf(issuer=issuer, public_key=public_key, common_name=common_name, serial=serial, days=days,
                 client=True)


def issue_client_keypair(*, issuer: KeyPair, common_name: str, serial: int, days: int = 825) -> KeyPair:
    """For hardware that cannot make a CSR (and Tocsin's own clients): key made here."""
    key = new_key()
    return KeyPair(_leaf(issuer=issuer, public_key=key.public_key(), common_name=common_name, serial=serial,
                         days=days, client=True), key_pem(key))


def issue_server_keypair(*, root: KeyPair, hosts: list[str], days: int = 825) -> KeyPair:
    key = new_key()
    dns, ips = [], []
    for host in hosts:
        try:
            ipaddress.ip_address(host)
            ips.append(host)
        except ValueError:
            dns.append(host)
    cert = _leaf(issuer=root, public_key=key.public_key(), common_name=hosts[0], serial=x509.random_serial_number(),
                 days=days, client=False, dns_names=dns, ip_addresses=ips)
    return KeyPair(cert, key_pem(key))


def make_csr(*, key, common_name: str = "gateway") -> str:
    """What a gateway sends (used by the agent's keytool and by tests)."""
    csr = x509.CertificateSigningRequestBuilder().subject_name(_name(common_name)).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def build_crl(*, issuer: KeyPair, revoked: list[tuple[int, dt.datetime]], days: int = 30) -> str:
    issuer_cert, issuer_key = load_cert(issuer.cert_pem), load_key(issuer.key_pem)
    now = _now()
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer_cert.subject)
               .last_update(now - dt.timedelta(minutes=5)).next_update(now + dt.timedelta(days=days)))
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def fingerprint(cert_pem: str) -> str:
    return load_cert(cert_pem).fingerprint(hashes.SHA256()).hex()
