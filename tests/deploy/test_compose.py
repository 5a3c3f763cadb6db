"""docker-compose.yml: valid against the Compose specification's schema (the
copy vendored in check-jsonschema, no download), ports on loopback only,
and the settings a containerised Functions host needs."""

import pytest

from tests.deploy.support import check_jsonschema, dockerfile_instructions, load_yaml, read


@pytest.fixture(scope="module")
def compose():
    return load_yaml("docker-compose.yml")


def _published(port) -> tuple[str | None, str, str]:
    """(host ip, host port, container port) of a short or long port syntax."""
    if isinstance(port, dict):
        return port.get("host_ip"), str(port.get("published", "")), str(port["target"])
    parts = str(port).split(":")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return None, parts[0], parts[1]
    return None, "", parts[0]


def test_compose_file_matches_the_compose_specification():
    result = check_jsonschema("vendor.compose-spec", "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_published_port_is_bound_to_loopback(compose):
    """The services run with development credentials: never reachable from the network."""
    open_ports = [
        (name, port)
        for name, service in compose["services"].items()
        for port in service.get("ports", [])
        if _published(port)[0] != "127.0.0.1"
    ]
    assert open_ports == []


def test_port_reader_sees_the_old_defect():
    assert _published("7071:80")[0] is None
    assert _published("127.0.0.1:7071:8080") == ("127.0.0.1", "7071", "8080")


def test_app_publishes_the_port_the_image_listens_on(compose):
    exposed = [args for kind, args in dockerfile_instructions(read("Dockerfile")) if kind == "EXPOSE"]
    targets = [_published(port)[2] for port in compose["services"]["app"]["ports"]]
    assert targets == exposed


def test_app_has_what_durable_and_the_host_need_in_a_container(compose):
    env = compose["services"]["app"]["environment"]
    # Durable client bindings fail with "Webhooks are not configured" without it.
    assert env.get("WEBSITE_HOSTNAME", "").endswith(":8080")
    assert env["AzureWebJobsStorage"].startswith("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1")
    assert "postgres:5432" in env["DATABASE_URL"]


def test_app_keeps_a_liveness_healthcheck(compose):
    """The image's HEALTHCHECK (/api/health/live) applies unless compose overrides it;
    an override must probe liveness too, never the database-dependent /api/health."""
    check = compose["services"]["app"].get("healthcheck")
    if check is None:
        return
    test = check.get("test", [])
    assert not check.get("disable") and "/api/health/live" in (test if isinstance(test, str) else " ".join(test))
