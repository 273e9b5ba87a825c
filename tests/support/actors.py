"""The actor tests act as: the audit log names it `test`. One for every suite, so a row a
fixture writes and a row a test writes name the same actor."""

from __future__ import annotations

from apps.audit.services import Actor

ACTOR = Actor.system("test")
