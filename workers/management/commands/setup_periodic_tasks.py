from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from workers.schedule import DEFAULT_SCHEDULE


class Command(BaseCommand):
    help = "Install or update Tocsin's default periodic tasks (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        for job in DEFAULT_SCHEDULE:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=job.every_seconds, period=IntervalSchedule.SECONDS
            )
            _, created = PeriodicTask.objects.update_or_create(
                name=job.name,
                defaults={"task": job.task, "interval": interval, "description": job.description},
                # An operator who disabled a job in the admin keeps it disabled.
                create_defaults={"task": job.task, "interval": interval,
                                 "description": job.description, "enabled": True},
            )
            verb = "created" if created else "updated"
            self.stdout.write(f"{verb}: {job.name} every {job.every_seconds}s → {job.task}")
