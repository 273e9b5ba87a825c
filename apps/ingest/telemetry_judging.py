"""How one telemetry batch (REST, or a bridge batch of many gateways) is judged.

Invariant: the anomaly baselines of the whole batch are folded in by one statement, before
any device row is locked, and only for readings an anomaly rule covers; thresholds and the
sibling rule then judge each device's fresh readings under that device's row lock. A batch
that no plant rule covers costs nothing beyond the thresholds it always had.
"""

from __future__ import annotations

from collections import defaultdict

from apps.devices.models import Device
from apps.ingest import plant_rules
from apps.ingest.baselines import Judged, fold_and_judge
from apps.ingest.rules import Decisions
from apps.ingest.site_rules import rules_for_site
from apps.ingest.windows import SiteWindows


def fold_baselines(fresh_by_device: list[tuple[Device, list[dict]]]) -> dict[int, list[Judged]]:
    """One statement for every device of the batch whose site has anomaly rules."""
    observations = []
    for device, readings in fresh_by_device:
        rules = rules_for_site(device.site).anomaly_rules
        if rules and readings:
            observations += plant_rules.anomaly_observations(device=device, rules=rules, readings=readings)
    judged: dict[int, list[Judged]] = defaultdict(list)
    for row in fold_and_judge(observations):
        judged[row.device_id].append(row)
    return judged


def judge_device(*, device: Device, readings: list[dict], state: dict, judged: list[Judged]) -> Decisions:
    """Every telemetry rule of the device's site on its fresh readings; `state` updated in place."""
    site_rules = rules_for_site(device.site)
    windows = SiteWindows(device.site)
    parts = [plant_rules.evaluate_thresholds(device=device, thresholds=site_rules.thresholds, readings=readings,
                                             state=state, windows=windows)]
    if judged:
        parts.append(plant_rules.evaluate_anomalies(device=device, rules=site_rules.anomaly_rules, judged=judged,
                                                    windows=windows))
    if site_rules.sibling_rules and readings:
        parts.append(plant_rules.evaluate_siblings(device=device, rules=site_rules.sibling_rules, readings=readings,
                                                   state=state, windows=windows))
    return plant_rules.merge(*parts)
