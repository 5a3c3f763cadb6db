"""Self-tests for the ServiceDouble base: recording, failure injection, robustness."""

import http.client

import httpx
import pytest

from tests.doubles.base import RecordedRequest, Reply, ServiceDouble, json_reply


class EchoDouble(ServiceDouble):
    def handle(self, request: RecordedRequest) -> Reply:
        if request.path == "/boom":
            raise RuntimeError("handler bug")
        return json_reply(200, {"path": request.path, "json": request.json})


@pytest.fixture
def double():
    with EchoDouble() as d:
        yield d


def test_records_requests(double):
    with httpx.Client(base_url=double.url, timeout=5) as client:
        client.post("/a%20b?x=1&y=2", json={"k": "v"}, headers={"X-Thing": "T"})
    req = double.requests[0]
    assert (req.method, req.path, req.raw_path) == ("POST", "/a b", "/a%20b")
    assert req.query == {"x": "1", "y": "2"} and req.headers["x-thing"] == "T"
    assert req.json == {"k": "v"} and req.body == b'{"k":"v"}'
    double.reset()
    assert double.requests == []


def test_handler_exception_is_500_and_server_survives(double):
    with httpx.Client(base_url=double.url, timeout=5) as client:
        assert client.get("/boom").status_code == 500
        assert client.get("/ok").json()["path"] == "/ok"
    assert "handler bug" in double.handler_errors[0]


def test_fail_next_with_path_filter_and_drop(double):
    double.fail_next(503, times=2, path="/only")
    double.drop_next(path="/dropped")
    with httpx.Client(base_url=double.url, timeout=5) as client:
        assert client.get("/other").status_code == 200
        assert [client.get("/only").status_code for _ in range(3)] == [503, 503, 200]
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/dropped")


def test_chunked_request_body(double):
    conn = http.client.HTTPConnection("127.0.0.1", double.port, timeout=5)
    conn.request(
        "POST", "/c", body=iter([b'{"a":', b" 1}"]), encode_chunked=True, headers={"Transfer-Encoding": "chunked"}
    )
    assert conn.getresponse().read() == b'{"path": "/c", "json": {"a": 1}}'
    conn.close()


def test_stop_unblocks_delayed_handlers():
    double = EchoDouble().start()
    double.delay_seconds = 30
    with httpx.Client(base_url=double.url, timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        client.get("/slow")
    double.stop()  # must not wait for the 30 s delay
    with pytest.raises(RuntimeError):
        double.url
