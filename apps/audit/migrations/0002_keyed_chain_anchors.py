"""Key the audit chain, anchor it, and make both tables append-only in the database.

Existing chains are first verified with the first wave's unkeyed algorithm (a broken chain
stops the migration: re-keying it would bless the tampering), then re-keyed in place under
the current audit key, before the trigger that refuses UPDATE and DELETE exists.
"""

import hashlib
import json

import apps.common.ids
import django.db.models.deletion
from django.db import migrations, models


LEGACY_FIELDS = ("seq", "created_at", "actor_type", "actor_id", "actor_label", "action",
                 "target_type", "target_id", "request_id", "details")


def _legacy_hash(entry, tenant_public_id):
    payload = {name: getattr(entry, name) for name in LEGACY_FIELDS}
    payload["created_at"] = entry.created_at.isoformat(timespec="microseconds")
    payload["tenant"] = tenant_public_id
    digest = hashlib.sha256()
    digest.update(entry.prev_hash.encode())
    digest.update(b"\n")
    digest.update(json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                             default=str).encode())
    return digest.hexdigest()


def rekey_chains(apps, schema_editor):
    from apps.audit.chain import CHAINED_FIELDS, current_key_id, entry_hash

    AuditEntry = apps.get_model("audit", "AuditEntry")
    Tenant = apps.get_model("tenancy", "Tenant")
    key_id = current_key_id()
    for tenant in [*Tenant.objects.order_by("pk"), None]:
        tenant_public_id = tenant.public_id if tenant else None
        previous_old, previous_new = "0" * 64, "0" * 64
        for entry in AuditEntry.objects.filter(tenant=tenant).order_by("seq").iterator(chunk_size=2000):
            if entry.prev_hash != previous_old or _legacy_hash(entry, tenant_public_id) != entry.hash:
                raise RuntimeError(f"audit chain of {tenant.slug if tenant else '(platform)'} is broken at "
                                   f"#{entry.seq}; investigate before re-keying it")
            previous_old = entry.hash
            entry.prev_hash, entry.key_id = previous_new, key_id
            entry.hash = entry_hash(tenant_public_id=tenant_public_id,
                                    content={name: getattr(entry, name) for name in CHAINED_FIELDS})
            entry.save(update_fields=["prev_hash", "key_id", "hash"])
            previous_new = entry.hash


APPEND_ONLY_SQL = """
CREATE FUNCTION tocsin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Retention of the oldest entries, and the erasure of a whole tenant, set this locally.
    IF TG_OP = 'DELETE' AND current_setting('tocsin.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% of % refused: the audit log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION tocsin_audit_append_only();
CREATE TRIGGER audit_anchor_append_only BEFORE UPDATE OR DELETE ON audit_auditanchor
    FOR EACH ROW EXECUTE FUNCTION tocsin_audit_append_only();
"""

DROP_APPEND_ONLY_SQL = """
DROP TRIGGER IF EXISTS audit_anchor_append_only ON audit_auditanchor;
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS tocsin_audit_append_only();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0001_initial'),
        ('tenancy', '0002_site_outage_grouping'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditentry',
            name='key_id',
            field=models.CharField(default='', help_text='Which audit key made the hash.', max_length=16),
        ),
        migrations.CreateModel(
            name='AuditAnchor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', apps.common.ids.PublicIdField(editable=False, max_length=40, prefix='anc', unique=True)),
                ('kind', models.CharField(choices=[('head', 'Head of the chain'), ('purge', 'Last entry removed by retention')], default='head', max_length=10)),
                ('seq', models.PositiveBigIntegerField()),
                ('entry_hash', models.CharField(max_length=64)),
                ('created_at', models.DateTimeField()),
                ('key_id', models.CharField(max_length=16)),
                ('signature', models.CharField(max_length=64)),
                ('tenant', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.tenant')),
            ],
            options={
                'ordering': ['tenant_id', 'seq', 'created_at'],
                'indexes': [models.Index(fields=['tenant', 'kind', '-seq'], name='audit_anchor_latest')],
            },
        ),
        migrations.RunPython(rekey_chains, migrations.RunPython.noop),
        migrations.RunSQL(APPEND_ONLY_SQL, DROP_APPEND_ONLY_SQL),
    ]
