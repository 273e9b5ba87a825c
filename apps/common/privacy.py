"""Raw personal data is refused on every path that takes text from a device or an integration.

Invariant: a body that carries what looks like raw personal data is refused whole (400,
naming the offending fields by path, never their values) before anything of it is stored,
logged or audited. Devices reduce an ID scan on the device; this check is the server's
refusal of whatever was not reduced, on every device, legacy and events path alike.

Two signals, both cheap enough for the ingest hot path:

- **Key names.** A key is normalised (camelCase split, case folded, any separator) into
  words, then matched against the names of what an ID document carries: first/last/given/
  family/full name, surname, holder, birthday, date of birth, dob, document/licence/
  passport/id number, address, street, postal code, the AAMVA element ids of those, and
  a raw barcode. `firstName`, `Guest-Surname` and `holder_name` are one rule each.
- **Free text.** A text value is refused when it carries a personal-data label ("DOB",
  "date of birth", "passport", "licence no", ...), or when what looks like a date of birth
  (a full date of 1900 up to five years ago) or a document number (a letter and 6+ digits,
  or 8+ digits) stands next to what looks like a name (two capitalised words that are not
  everyday alerting vocabulary, also as "Surname, Given" or "SURNAME, GIVEN"). Identifiers (dedup keys, room ids)
  are read the same way after their separators and camelCase become spaces.

A heuristic, not a guarantee: it exists to stop firmware bugs and careless integrations
from putting a customer's identity into alerts, SMS text and the hash-chained audit log
(where it cannot be removed without breaking the chain). PII detectors such as Presidio
need a language model per request, far beyond the budget of a heartbeat.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any

from apps.common.errors import ApplicationError

REFUSED = "Personal data is refused."
MAX_REPORTED_FIELDS = 50


class PersonalDataRefused(ApplicationError):
    code = "personal_data_refused"


# --- key names -------------------------------------------------------------------------------------

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")

# Whole keys (words joined without separators) that name personal data.
_PERSONAL_KEYS = frozenset({
    "name", "names", "fullname", "firstname", "lastname", "middlename", "givenname", "givennames",
    "familyname", "maidenname", "surname", "surnames", "forename", "forenames", "holder", "holdername",
    "cardholder", "cardholdername", "birthday", "birthdate", "dateofbirth", "dob", "placeofbirth",
    "birthplace", "passport", "ssn", "address", "street", "city", "postalcode", "postcode", "zip", "zipcode",
    "raw", "rawbarcode", "barcode", "barcodetext", "rawscan", "mrz",
    # AAMVA element ids (PDF417 on North American licences): names, date of birth, address, numbers.
    "dcs", "dac", "dad", "dct", "dbb", "dag", "dah", "dai", "dak", "daq", "dcf", "dbp", "dbn", "dbo",
})
# Words that make any key personal wherever they stand (`guest_surname`, `customerDob`).
_PERSONAL_WORDS = frozenset({
    "surname", "surnames", "forename", "forenames", "firstname", "lastname", "givenname", "familyname",
    "fullname", "middlename", "maidenname", "holder", "cardholder", "birthday", "birthdate", "dob",
    "passport", "ssn", "street", "postcode", "zipcode", "mrz",
})
# `<qualifier> name` or `name <qualifier>`: whose name it is makes it personal.
_NAME_QUALIFIERS = frozenset({
    "first", "last", "given", "family", "middle", "full", "maiden", "sur", "fore", "christian", "legal",
    "holder", "customer", "guest", "person", "patron", "visitor", "birth", "owner", "card", "real",
})
_DOCUMENT_WORDS = frozenset({
    "document", "doc", "license", "licence", "dl", "passport", "identity", "identification", "national",
    "ssn", "social", "id",
})
_NUMBER_WORDS = frozenset({"number", "no", "num", "nr", "nbr", "id", "code"})
# An address of a machine is not a person's: `mac_address`, `modbusAddress`, `ip_address`.
_MACHINE_ADDRESS_WORDS = frozenset({
    "mac", "ip", "ipv4", "ipv6", "hw", "hardware", "ble", "bluetooth", "wifi", "network", "server", "host",
    "gateway", "broker", "bind", "listen", "remote", "local", "modbus", "bus", "register", "memory", "mem",
    "base", "slave", "unit", "i2c", "spi", "can", "node", "peer", "device",
})


def key_words(key: str) -> tuple[str, ...]:
    """`firstName`, `FIRST-NAME` and `first name` all become ("first", "name")."""
    return tuple(word for word in _NOT_ALNUM.split(_CAMEL_BOUNDARY.sub(" ", key).lower()) if word)


def key_is_personal(key: str) -> bool:
    # Key names repeat from request to request: short ones are remembered (long ones are no
    # names of fields, and are not kept in memory).
    return _key_is_personal(key) if len(key) <= 64 else _judge_key(key)


@lru_cache(maxsize=4096)
def _key_is_personal(key: str) -> bool:
    return _judge_key(key)


def _judge_key(key: str) -> bool:
    words = key_words(key)
    if not words:
        return False
    if "".join(words) in _PERSONAL_KEYS or not _PERSONAL_WORDS.isdisjoint(words):
        return True
    for index, word in enumerate(words):
        neighbours = set(words[max(index - 1, 0):index + 2]) - {word}
        if word in ("name", "names") and not _NAME_QUALIFIERS.isdisjoint(neighbours):
            return True
        if word == "birth" and words != ("birth", "year"):  # the year alone is what scans may carry
            return True
        if word in _DOCUMENT_WORDS and not _NUMBER_WORDS.isdisjoint(set(words) - {word}):
            return True
        if word == "address" and _MACHINE_ADDRESS_WORDS.isdisjoint(words):
            return True
        if word in ("postal", "zip") and ("code" in words or len(words) == 1):
            return True
    return False


# --- free text -------------------------------------------------------------------------------------

_LABELS = re.compile(
    r"\b(?:d\.?\s?o\.?\s?b\b|date\s+of\s+birth|birth\s*date|birthday|born\s+(?:on|in)?\s*\d"
    r"|first\s*name|last\s*name|given\s+names?|family\s+name|sur\s?name|full\s*name|maiden\s+name"
    r"|(?:licen[cs]e|document|doc|dl|passport)\s*(?:(?:no|nr|num|number)\b|\#)|id\s*(?:(?:nr|num|number)\b|no\.|\#)"
    r"|social\s+security|ssn\b)",
    re.IGNORECASE,
)
_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
           r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
# A full date, in the orders people and ID readers write them; the year is captured to judge
# whether it can be a birth date.
_DATES = re.compile(
    r"(?<!\d)(?P<y1>(?:19|20)\d\d)[-/.]?(?:0[1-9]|1[0-2])[-/.]?(?:0[1-9]|[12]\d|3[01])(?!\d)"
    r"|(?<!\d)(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?P<y2>(?:19|20)\d\d)(?!\d)"
    rf"|\b(?:0?[1-9]|[12]\d|3[01])\s+{_MONTHS}\.?,?\s+(?P<y3>(?:19|20)\d\d)\b"
    rf"|\b{_MONTHS}\.?\s+(?:0?[1-9]|[12]\d|3[01]),?\s+(?P<y4>(?:19|20)\d\d)\b",
    re.IGNORECASE,
)
_DOCUMENT_NUMBER = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z]{1,3}\d{6,12}[A-Za-z]?|\d{8,12})(?![A-Za-z0-9])")
_UPPER, _LOWER = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"
_CAPITALISED_PAIR = re.compile(rf"\b([{_UPPER}][{_LOWER}'’-]+),?\s+(?=([{_UPPER}][{_LOWER}'’-]+)\b)")
_SURNAME_COMMA_GIVEN = re.compile(rf"\b[{_UPPER}]{{2,}}\s*,\s*[{_UPPER}]{{2,}}\b")
_IDENTIFIER_SEPARATORS = re.compile(r"[_.:/|=+-]+")
# Capitalised words that alerts, monitors and devices use every day: two of them side by side
# are a title ("Battery Low", "Disk Full"), not a person.
_EVERYDAY_TEXT = """
a an the and or of on in at to for from by with without since until after before via per is are was were
be been not no new old all any this that it its our your their my
alert alerts alarm alarms warning warnings critical error errors fault faults failure failed fail fails
high low full empty ok okay down up open opened closed close offline online lost restored recovered
resolved triggered acknowledged detected reported raised cleared timeout timed out check checks
battery batteries power voltage current temperature temp humidity disk disks cpu memory ram load usage
network link signal wifi rssi latency packet packets device devices tablet tablets scanner scanners
gateway gateways inverter inverters sensor sensors meter meters panel panels string strings pump pumps
door doors window windows room rooms floor floors hall lobby kitchen bar till store stores shop hotel
hotels plant plants site sites building gate entrance exit zone area front back north south east west
main service services server servers host hosts node nodes cluster database queue queues job jobs task
api web app application backend frontend proxy worker workers cron backup backups deploy release
breach tamper tampered underage customer customers guest guests scan scans id card cards document
documents invalid valid expired license licence age minor adult staff manager team on-call oncall
monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow
january february march april may june july august september october november december
production staging test testing demo external internal custom unknown other level status state
"""
_EVERYDAY_WORDS = frozenset(_EVERYDAY_TEXT.split())


def _year(match: re.Match) -> int:
    return int(next(value for key, value in match.groupdict().items() if value))


def _has_birth_date(text: str) -> bool:
    latest = date.today().year - 5
    return any(1900 <= _year(match) <= latest for match in _DATES.finditer(text))


def _has_name(text: str) -> bool:
    if _SURNAME_COMMA_GIVEN.search(text):
        return True
    return any(first.lower() not in _EVERYDAY_WORDS and second.lower() not in _EVERYDAY_WORDS
               for first, second in _CAPITALISED_PAIR.findall(text))


def text_is_personal(text: str) -> bool:
    """Not memoised: a cache would keep the very text refused in memory."""
    if len(text) < 6:
        return False
    if _LABELS.search(text):
        return True
    if not (_has_birth_date(text) or _DOCUMENT_NUMBER.search(text)):
        return False
    if _has_name(text):
        return True
    if not any(char.isspace() for char in text):  # an identifier: `Jane_Doe-19900401`, `janeDoe:D1234567`
        spaced = _IDENTIFIER_SEPARATORS.sub(" ", text)
        return _has_name(_CAMEL_BOUNDARY.sub(" ", spaced)) or _LABELS.search(spaced) is not None
    return False


# --- the walk --------------------------------------------------------------------------------------

# Keys seen clean: an object whose keys are all among them (every scan of a clean batch) needs
# no key-by-key look. Bounded, so a stream of made-up keys cannot grow it without limit.
_CLEAN_KEYS: set[str] = set()
_CLEAN_KEYS_LIMIT = 4096


def personal_data_fields(payload: Any, *, typed_fields: frozenset[str] = frozenset(),
                         free_form: frozenset[str] = frozenset({"details", "custom_details"})) -> list[str]:
    """Dotted paths (`scans[1].firstName`, `payload.summary`) of every field that looks like
    raw personal data: a personal key, or a text value that reads like one.

    `typed_fields` names the caller's fields whose values its own validator restricts to a
    format that cannot carry free text (UUIDs, timestamps, hashes, numbers): a value there is
    either well-formed or refused by that validator, so its text is not read here. Inside
    a free-form object (`details`, `custom_details`) every value is read, whatever its key.
    """
    found: list[str] = []
    typed_clean = _all_clean(typed_fields)
    pending: list[tuple[Any, str, frozenset[str]]] = [(payload, "", typed_fields)]
    while pending:
        node, path, typed = pending.pop()
        if isinstance(node, dict):
            keys = node.keys()
            if keys <= typed and typed_clean:  # every scan of a clean batch: only nesting to follow
                pending.extend((value, _join(path, key), typed) for key, value in node.items()
                               if isinstance(value, (dict, list)))
                continue
            if not keys <= _CLEAN_KEYS:
                _check_keys(node, path, found)
            for key, value in node.items():
                if isinstance(value, str):
                    if key not in typed and text_is_personal(value):
                        found.append(_join(path, key))
                elif isinstance(value, (dict, list)):
                    pending.append((value, _join(path, key), frozenset() if key in free_form else typed))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, str):
                    if text_is_personal(value):
                        found.append(f"{path}[{index}]")
                elif isinstance(value, (dict, list)):
                    pending.append((value, f"{path}[{index}]", typed))
        elif isinstance(node, str) and text_is_personal(node):
            found.append(path or "non_field_errors")
    return sorted(set(found))


@lru_cache(maxsize=64)
def _all_clean(keys: frozenset[str]) -> bool:
    return not any(key_is_personal(key) for key in keys)


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def _check_keys(node: dict, path: str, found: list[str]) -> None:
    for key in node:
        if not isinstance(key, str):
            continue
        if key_is_personal(key):
            found.append(_join(path, key))
        elif len(_CLEAN_KEYS) < _CLEAN_KEYS_LIMIT:
            _CLEAN_KEYS.add(key)


def refuse_personal_data(payload: Any, *, typed_fields: frozenset[str] = frozenset()) -> None:
    """Raise `PersonalDataRefused` (400) naming the fields, never their values: the values
    go nowhere, not into the answer, a log line or the audit log."""
    found = personal_data_fields(payload, typed_fields=typed_fields)
    if found:
        raise PersonalDataRefused(
            "Raw personal data is not accepted; reduce it before sending.",
            fields={path: [REFUSED] for path in found[:MAX_REPORTED_FIELDS]},
        )
