from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from apps.audit.services import Actor
from apps.notifications.channels import channel_send_test
from apps.notifications.models import Channel


class Command(BaseCommand):
    help = "Send a real test message through a channel (by public id or name)."

    def add_arguments(self, parser):
        parser.add_argument("--channel", required=True, help="Channel public id, or its name with --tenant.")
        parser.add_argument("--tenant", help="Tenant slug, when naming the channel by name.")

    def handle(self, *args, channel, tenant=None, **options):
        channels = Channel.objects.select_related("tenant").filter(Q(public_id=channel) | Q(name=channel))
        if tenant:
            channels = channels.filter(tenant__slug=tenant)
        found = list(channels[:2])
        if not found:
            raise CommandError(f"No channel '{channel}'.")
        if len(found) > 1:
            raise CommandError(f"Several channels are called '{channel}'; use the public id or --tenant.")
        result = channel_send_test(channel=found[0], actor=Actor.system("manage.py"))
        if not result.ok:
            raise CommandError(f"{result.provider} refused the test message: {result.error} ({result.code})")
        self.stdout.write(f"sent through {result.provider}: {result.provider_message_id or 'accepted'}")
