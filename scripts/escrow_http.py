"""A keep-alive HTTP client of a running escrow for the scripts (soak, privacy benchmarks). Python 3 standard library only."""
import http.client
import json
import time


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
        busy = 0
        attempt = 0
        while True:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                attempt += 1
                if attempt == 2:
                    raise
                continue
            # Too many uploads at once (or a rate limit): wait as told and send again, as the CLI does, a few times.
            if response.status == 429 and busy < 30:
                busy += 1
                self.conn.close()  # the service may not have read the body
                self.conn = None
                time.sleep(min(float(response.getheader("retry-after") or 1), 60))
                continue
            break
        if response.status not in expect:
            raise RuntimeError(f"{method} {path} -> {response.status}: {data[:300]!r}")
        return json.loads(data) if data and response.getheader("content-type", "").startswith("application/json") else None
