"""The certificate authorities in the database: the platform root and one CA per tenant.

Invariant: a CA's private key exists only encrypted at rest (TOCSIN_ENCRYPTION_KEYS, rotated
by `manage.py rotate_encryption_keys`) and a tenant's CA is only ever loaded for that tenant.
Both are created on first use; a concurrent first use is settled by the unique constraints.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from apps.common.crypto import decrypt_secret, encrypt_secret, rotate_secret
from apps.iot import pki
from apps.iot.models import CertificateAuthority, RevokedCertificate
from apps.tenancy.models import Tenant


def _pair(ca: CertificateAuthority) -> pki.KeyPair:
    return pki.KeyPair(ca.cert_pem, decrypt_secret(ca.key_encrypted))


def _get_or_create(tenant: Tenant | None, make) -> CertificateAuthority:
    existing = CertificateAuthority.objects.filter(tenant=tenant, is_root=tenant is None).order_by().first()
    if existing is not None:
        return existing
    pair = make()
    try:
        with transaction.atomic():
            return CertificateAuthority.objects.create(tenant=tenant, is_root=tenant is None, cert_pem=pair.cert_pem,
                                                       key_encrypted=encrypt_secret(pair.key_pem))
    except IntegrityError:  # made concurrently by another process: theirs stands
        return CertificateAuthority.objects.get(tenant=tenant, is_root=tenant is None)


def root_ca() -> CertificateAuthority:
    return _get_or_create(None, pki.create_root_ca)


def root_pair() -> pki.KeyPair:
    return _pair(root_ca())


def tenant_ca(tenant: Tenant) -> CertificateAuthority:
    root = root_pair()
    return _get_or_create(tenant, lambda: pki.create_tenant_ca(root=root, tenant_public_id=tenant.public_id,
                                                                tenant_name=tenant.name))


def tenant_pair(tenant: Tenant) -> pki.KeyPair:
    return _pair(tenant_ca(tenant))


def chain_pem(tenant: Tenant) -> str:
    """What a gateway presents after its own certificate: its tenant's CA (the broker trusts the root)."""
    return tenant_ca(tenant).cert_pem


def crl_bundle() -> str:
    """One CRL per CA, the root's included: with a CRL file configured, OpenSSL refuses a
    certificate whose issuer has no CRL at all."""
    now = dt.datetime.now(dt.UTC)
    revoked: dict[int, list] = {}
    for entry in RevokedCertificate.objects.order_by("revoked_at"):
        revoked.setdefault(entry.authority_id, []).append((int(entry.serial, 16), entry.revoked_at or now))
    return "".join(pki.build_crl(issuer=_pair(ca), revoked=revoked.get(ca.pk, []))
                   for ca in CertificateAuthority.objects.order_by("pk"))


def crl_bundle_fingerprint() -> str:
    """What the CRL bundle would say, cheaply: the CAs and the revoked serials."""
    import hashlib

    content = [f"ca:{pk}" for pk in CertificateAuthority.objects.order_by("pk").values_list("pk", flat=True)]
    content += [f"{a}:{s}" for a, s in RevokedCertificate.objects.order_by("pk").values_list("authority_id", "serial")]
    return hashlib.sha256("|".join(content).encode()).hexdigest()


def rotate_ca_keys() -> int:
    """Re-encrypt every CA key under the newest encryption key (part of rotate_encryption_keys)."""
    rotated = 0
    for ca in CertificateAuthority.objects.order_by("pk"):
        CertificateAuthority.objects.filter(pk=ca.pk).update(key_encrypted=rotate_secret(ca.key_encrypted))
        rotated += 1
    return rotated
