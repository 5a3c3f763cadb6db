"""host.json: the telemetry the alerts and the cutover read, and Durable's
queue polling (the parts of host.json owned by deployment)."""

import json
import re

import pytest

from tests.deploy.support import read

LEVELS = ["Trace", "Debug", "Information", "Warning", "Error", "Critical", "None"]


def effective_level(host: dict, category: str) -> str:
    """The level a log category gets: the longest configured prefix, else default."""
    levels = host.get("logging", {}).get("logLevel", {})
    matches = [name for name in levels if name != "default" and (category == name or category.startswith(name + "."))]
    return levels[max(matches, key=len)] if matches else levels.get("default", "Information")


def keeps_successful_requests(host: dict) -> bool:
    """Successful invocations reach the requests table only at Information or below."""
    return LEVELS.index(effective_level(host, "Host.Results")) <= LEVELS.index("Information")


def seconds(timespan: str) -> float:
    hours, minutes, secs = re.fullmatch(r"(\d+):(\d+):(\d+(?:\.\d+)?)", timespan).groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


@pytest.fixture(scope="module")
def host():
    return json.loads(read("host.json"))


def test_successful_requests_reach_application_insights(host):
    assert keeps_successful_requests(host)
    # Requests are never sampled away either: the error rate needs them all.
    excluded = host["logging"]["applicationInsights"]["samplingSettings"]["excludedTypes"].split(";")
    assert "Request" in excluded


def test_the_check_sees_the_old_defect():
    assert not keeps_successful_requests({"logging": {"logLevel": {"default": "Information", "Host.Results": "Error"}}})
    assert not keeps_successful_requests({"logging": {"logLevel": {"default": "Warning"}}})
    assert keeps_successful_requests({"logging": {"logLevel": {"default": "Information"}}})


def test_durable_tracking_events_are_logged(host):
    """The Durable orchestration failure alert reads Host.Triggers.DurableTask traces."""
    assert LEVELS.index(effective_level(host, "Host.Triggers.DurableTask")) <= LEVELS.index("Information")


def test_durable_polls_its_queues_at_least_every_ten_seconds(host):
    """Microsoft's recommendation for Durable on Flex Consumption: an idle
    queue is polled at most this far apart (default 30 s), which bounds how
    long a score waits between steps."""
    interval = host["extensions"]["durableTask"]["storageProvider"]["maxQueuePollingInterval"]
    assert 0 < seconds(interval) <= 10


def test_the_host_exports_opentelemetry(host):
    """Issue 24: the host's and the worker's spans share one format and one trace
    (https://learn.microsoft.com/azure/azure-functions/opentelemetry-howto: a root
    `telemetryMode` element)."""
    assert host.get("telemetryMode") == "OpenTelemetry"
