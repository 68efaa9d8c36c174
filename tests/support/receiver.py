"""A webhook consumer on loopback, as the product would run one: records, verifies, can fail."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from models.webhooks.endpoints import SIGNATURE_HEADER, verify_signature


class WebhookReceiver:
    """Accepts deliveries; while `failing` is set it answers 500 (or stalls past the timeout)."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret
        self.deliveries: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.failures_served = 0
        self.failing = False
        self.stall_seconds = 0.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver._receive(self, body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/scimgate"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _receive(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        if self.failing:
            with self._lock:
                self.failures_served += 1
            if self.stall_seconds:
                time.sleep(self.stall_seconds)
            handler.send_response(500)
            handler.end_headers()
            return
        signature = handler.headers.get(SIGNATURE_HEADER, "")
        with self._lock:
            if self.secret and not verify_signature(self.secret, signature, body):
                self.bad_signatures += 1
            self.deliveries.append(json.loads(body))
        handler.send_response(204)
        handler.end_headers()

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event received, in arrival order, duplicates included."""
        with self._lock:
            return [event for delivery in self.deliveries for event in delivery["events"]]

    def unique_sequences(self) -> list[int]:
        """Sequence numbers after de-duplication by event id, in first-arrival order."""
        seen: set[str] = set()
        sequences = []
        for event in self.events:
            if event["id"] not in seen:
                seen.add(event["id"])
                sequences.append(event["sequence"])
        return sequences
