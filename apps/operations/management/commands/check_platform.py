"""`manage.py check_platform`: the readiness checks for cron or a shell, exit 1 on failure.

Prints one line per check (`ok` / `FAIL` / `warn`), or the JSON `/readyz` answers with
`--json`. The exit status is what a cron job or a monitoring agent acts on.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from apps.common.health import READINESS_CHECKS, run_checks


class Command(BaseCommand):
    help = "Check PostgreSQL, Redis, the broker, beat, workers, the outbox and dead letters; exit 1 on failure."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the checks as JSON (as /readyz does).")
        parser.add_argument("--check", action="append", dest="checks", metavar="NAME",
                            help="Run only this check (repeatable), e.g. --check beat for beat's container.")

    def handle(self, *args, **options):
        known = set(READINESS_CHECKS)
        if options["checks"] and set(options["checks"]) - known:
            raise CommandError(f"unknown check(s) {sorted(set(options['checks']) - known)}; known: {sorted(known)}")
        results = run_checks(options["checks"])
        failed = [name for name, result in results.items() if not result["ok"]]
        if options["json"]:
            self.stdout.write(json.dumps({"failed": failed, "checks": results}, default=str, indent=2))
        else:
            for name, result in results.items():
                word = "FAIL" if not result["ok"] else ("warn" if result.get("warning") else "ok")
                figures = {k: v for k, v in result.items() if k not in {"ok", "error", "warning"}}
                reason = result.get("error") or result.get("warning") or ""
                self.stdout.write(f"{word:4} {name:13} {reason} {figures if figures else ''}".rstrip())
        if failed:
            raise CommandError(f"not ready: {', '.join(failed)}", returncode=1)
