"""A keep-alive HTTP client of a running escrow for the scripts (soak, privacy benchmarks). Python 3 standard library only."""
import http.client
import json


class Api:
    """One keep-alive HTTP connection (use one per thread)."""

    def __init__(self, host, port, token=None):
        self.host, self.port, self.token = host, port, token
        self.conn = None

    def call(self, method, path, body=None, content_type="application/json", expect=(200, 201)):
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        if body is not None:
            if not isinstance(body, (bytes, bytearray)):
                body = json.dumps(body).encode()
            headers["content-type"] = content_type
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        if response.status not in expect:
            raise RuntimeError(f"{method} {path} -> {response.status}: {data[:300]!r}")
        return json.loads(data) if data and response.getheader("content-type", "").startswith("application/json") else None
