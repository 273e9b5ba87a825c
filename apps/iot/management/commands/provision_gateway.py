from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.iot import provisioning
from apps.tenancy.management.commands._lookup import site_from_arg, tenant_from_arg


class Command(BaseCommand):
    help = ("Provision a plant's MQTT gateway: device, certificate (from --csr, or a server-made key written "
            "to --out once), broker identity and ACL; all or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--plant", required=True, help="Plant site id or location id.")
        parser.add_argument("--tenant", help="Tenant slug or id, when the location id is ambiguous.")
        parser.add_argument("--hardware-id", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--csr", type=Path, help="PEM CSR made on the gateway (its key never leaves it).")
        parser.add_argument("--out", type=Path, required=True, help="Directory for ca.pem, cert.pem (and key.pem).")

    def handle(self, *args, **options):
        tenant = tenant_from_arg(options["tenant"]) if options["tenant"] else None
        site = site_from_arg(options["plant"], tenant)
        csr = options["csr"].read_text() if options["csr"] else ""
        try:
            result = provisioning.gateway_provision(site=site, actor=Actor.system("provision_gateway"),
                                                hardware_id=options["hardware_id"], name=options["name"],
                                                csr_pem=csr)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        out: Path = options["out"]
        out.mkdir(parents=True, exist_ok=True)
        (out / "ca.pem").write_text(result.ca_pem)
        (out / "cert.pem").write_text(result.certificate_pem + result.chain_pem)
        if result.key_available:
            key = provisioning.gateway_key_download(gateway=result.gateway, actor=Actor.system("provision_gateway"))
            key_path = out / "key.pem"
            key_path.touch(mode=0o600)
            key_path.write_text(key)
        self.stdout.write(f"provisioned {result.gateway.identity} for {site}; publish to "
                          f"solar/{site.public_id}/data at {result.broker_url}; files in {out}")
