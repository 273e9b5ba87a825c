"""The address check itself: which addresses are inside, and that the connection goes to
the address that was vetted. The resolver is faked and connections off loopback are
caught by a tripwire, so nothing here sends a packet off this machine even if the guard
were broken."""

from __future__ import annotations

import ipaddress

import pytest

from apps.common import netguard
from apps.common.netguard import DestinationRefused

INTERNAL = [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1",  # noqa: S104 (an address under test, nothing binds it)
    "239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.2.10", "198.18.0.1",
    "::1", "::", "fd00::1", "fc00::5", "fe80::1", "ff02::1", "ff0e::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "::ffff:169.254.169.254", "2002:7f00:1::", "2002:a00:1::", "64:ff9b::a9fe:a9fe", "2001:db8::1",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:82b::200e"]


@pytest.fixture
def guard_on(settings):
    settings.TOCSIN_ALLOW_PRIVATE_TARGETS = False


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses(address):
    assert netguard.is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address):
    assert not netguard.is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", INTERNAL)
def test_a_name_resolving_inside_is_refused_before_any_connection(guard_on, fake_dns, tripwire, address):
    fake_dns.set("hooks.example.test", address)
    with pytest.raises(DestinationRefused):
        netguard.create_connection(("hooks.example.test", 443), timeout=1)
    with pytest.raises(DestinationRefused):
        netguard.check_url("https://hooks.example.test/in")
    assert tripwire.outside == []


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "[fd00::1]", "224.0.0.1", "[::1]",
                                     "0.0.0.0", "127.0.0.1", "[::ffff:127.0.0.1]"])  # noqa: S104
def test_literal_internal_urls_are_refused(guard_on, fake_dns, tripwire, address):
    with pytest.raises(DestinationRefused):
        netguard.check_url(f"http://{address}:8080/hook")
    with pytest.raises(DestinationRefused):
        netguard.create_connection((address, 8080), timeout=1)
    assert tripwire.outside == [] and fake_dns.queries == []


@pytest.mark.parametrize("host", ["127.1", "0x7f000001", "2130706433", "0177.0.0.1", "0x7f.1", "10.1", "0xa9fea9fe"])
def test_obfuscated_internal_literals_are_refused(guard_on, fake_dns, tripwire, host):
    """Whatever spelling the resolver accepts, the check is on the address it produced."""
    with pytest.raises(DestinationRefused):
        netguard.check_url(f"http://{host}/hook")
    with pytest.raises(DestinationRefused):
        netguard.create_connection((host, 80), timeout=1)
    assert tripwire.outside == [] and fake_dns.queries == []


@pytest.mark.parametrize("name", ["localhost", "LOCALHOST.", "api.localhost", "ip6-localhost"])
def test_local_names_are_refused_without_a_lookup(guard_on, fake_dns, name):
    with pytest.raises(DestinationRefused):
        netguard.check_url(f"http://{name}:8000/")
    assert fake_dns.queries == []


def test_one_internal_answer_refuses_the_whole_name(guard_on, fake_dns, tripwire):
    fake_dns.set("mixed.example.test", "93.184.216.34", "10.0.0.1")
    with pytest.raises(DestinationRefused):
        netguard.create_connection(("mixed.example.test", 80), timeout=1)
    assert tripwire.outside == []


def test_the_connection_goes_to_the_vetted_address_not_to_a_second_lookup(guard_on, fake_dns, tripwire):
    """DNS rebinding: the first answer is public, every later one loopback. The guard
    resolves once and connects to what it vetted (the tripwire stops it there)."""
    fake_dns.sequence("rebind.example.test", ["93.184.216.34"], ["127.0.0.1"])
    with pytest.raises(ConnectionRefusedError):
        netguard.create_connection(("rebind.example.test", 80), timeout=1)
    assert tripwire.outside == ["93.184.216.34"] and fake_dns.queries == ["rebind.example.test"]


def test_a_name_that_does_not_resolve_passes_the_early_check(guard_on, fake_dns):
    netguard.check_url("https://not-yet.example.test/hook")


def test_the_development_allowance_lets_loopback_through(settings, fake_dns):
    settings.TOCSIN_ALLOW_PRIVATE_TARGETS = True
    netguard.check_url("http://127.0.0.1:9/hook")
    netguard.check_url("http://localhost:9/hook")


def test_the_allowance_is_off_by_default():
    import os
    import subprocess
    import sys

    from tests.support.processes import ROOT

    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.TOCSIN_ALLOW_PRIVATE_TARGETS)")
    env = {key: value for key, value in os.environ.items() if key != "TOCSIN_ALLOW_PRIVATE_TARGETS"}
    env["DJANGO_SETTINGS_MODULE"] = "tocsin.settings"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "False", result.stderr
