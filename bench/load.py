"""The load generator: IdP-shaped SCIM traffic from a process of its own.

    python -m bench.load PLAN.json RESULT.json

The harness writes a plan (where to send, with which token, at which concurrency, and what:
see `PLANS`), starts this module as a separate process, and reads back every request's start
and end time (time.monotonic(), which every process on the machine shares), its status and
its kind, plus what the traffic created (ids by key) and this process's own CPU time.

It is a small asyncio HTTP/1.1 client over keep-alive connections, one per concurrent
IdP worker: a request costs it a few tens of microseconds, so on a shared machine the server,
not the client, is what the figures measure. Its own CPU share is reported with the figures.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from tests.support.scim import okta_user

SCIM_JSON = "application/scim+json; charset=utf-8"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTRA_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# How long one request may take before the generator counts it as failed (Okta waits 60 s).
REQUEST_TIMEOUT_SECONDS = 60


def emails(count: int, domain: str = "example.com", start: int = 0) -> list[str]:
    """userNNNNNN@domain for NNNNNN in [start, start + count): the names every scenario uses."""
    return [f"user{i:06d}@{domain}" for i in range(start, start + count)]


def entra_user(email: str) -> dict[str, Any]:
    """The body Entra ID POSTs to create a user (string boolean, enterprise extension)."""
    local = email.split("@", 1)[0]
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "externalId": hashlib.sha256(email.encode()).hexdigest()[:36],
        "userName": email,
        "active": "True",
        "displayName": local.title(),
        "emails": [{"primary": True, "type": "work", "value": email}],
        "name": {"formatted": local.title(), "familyName": "Entra", "givenName": local},
        ENTERPRISE_SCHEMA: {"department": "Engineering"},
    }


@dataclass
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


class ConnectionLost(Exception):
    """The server closed the connection before answering (idle keep-alive, worker restart)."""


class Connection:
    """One keep-alive HTTP/1.1 connection; reopened when the server has closed it."""

    def __init__(self, host: str, port: int, headers: bytes) -> None:
        self._host, self._port = host, port
        self._headers = headers
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, body: bytes | None = None) -> Response:
        """Send one request; a connection the server closed while idle is reopened once."""
        for attempt in (1, 2):
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            try:
                return await self._exchange(method, target, body)
            except (ConnectionLost, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, method: str, target: str, body: bytes | None) -> Response:
        assert self._reader is not None and self._writer is not None
        head = f"{method} {target} HTTP/1.1\r\n".encode() + self._headers
        if body is not None:
            head += b"Content-Length: %d\r\n" % len(body)
        self._writer.write(head + b"\r\n" + (body or b""))
        try:
            raw = await self._reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            if not error.partial:
                raise ConnectionLost from None
            raise
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, closing = 0, False, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                closing = True
        payload = await (self._chunks() if chunked else self._reader.readexactly(length))
        if closing:
            self.close()
        return Response(status, payload)

    async def _chunks(self) -> bytes:
        assert self._reader is not None
        parts = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


@dataclass
class Recorder:
    """Every request's (start, end, status, kind), and whatever the traffic created."""

    requests: list[tuple[float, float, int, str]] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)

    async def send(
        self, connection: Connection, kind: str, method: str, target: str, body: Any = None
    ) -> Response:
        payload = None if body is None else orjson.dumps(body)
        started = time.monotonic()
        try:
            response = await asyncio.wait_for(
                connection.request(method, target, payload), REQUEST_TIMEOUT_SECONDS
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ConnectionLost):
            connection.close()
            response = Response(0, b"")
        self.requests.append((started, time.monotonic(), response.status, kind))
        return response


Step = Callable[[Connection, Recorder], Awaitable[None]]


def _filter_target(path: str, expression: str, extra: str = "") -> str:
    return f"{path}?filter={quote(expression)}{extra}"


def create_users(plan: dict[str, Any]) -> Iterable[Step]:
    """Okta's (or Entra's) create: a filtered GET for the userName, then a POST if absent."""
    base, idp = plan["path"], plan.get("idp", "okta")
    body_of = entra_user if idp == "entra" else okta_user

    def step(email: str) -> Step:
        async def run(connection: Connection, recorder: Recorder) -> None:
            lookup = _filter_target(
                f"{base}/Users", f'userName eq "{email}"', "&startIndex=1&count=100"
            )
            found = await recorder.send(connection, "lookup", "GET", lookup)
            if found.status != 200:
                return
            listed = found.json()
            if listed.get("totalResults"):
                recorder.created[email] = listed["Resources"][0]["id"]
                return
            created = await recorder.send(
                connection, "create", "POST", f"{base}/Users", body_of(email)
            )
            if created.status == 201:
                recorder.created[email] = created.json()["id"]

        return run

    return (step(email) for email in plan["emails"])


def reapply_users(plan: dict[str, Any]) -> Iterable[Step]:
    """Okta's Reapply Mappings: GET each user, then PUT the whole object back.

    Items are [email, id, changed]; a changed user's givenName differs from the one stored.
    """
    base = plan["path"]

    def step(email: str, user_id: str, changed: bool) -> Step:
        async def run(connection: Connection, recorder: Recorder) -> None:
            read = await recorder.send(connection, "read", "GET", f"{base}/Users/{user_id}")
            if read.status != 200:
                return
            body = okta_user(email, given="Grace" if changed else "Ada")
            body["id"] = user_id
            await recorder.send(connection, "replace", "PUT", f"{base}/Users/{user_id}", body)

        return run

    return (step(*item) for item in plan["items"])


def lookup_users(plan: dict[str, Any]) -> Iterable[Step]:
    """`userName eq` lookups of existing users, as every IdP makes before a write."""
    base = plan["path"]

    def step(email: str) -> Step:
        async def run(connection: Connection, recorder: Recorder) -> None:
            target = _filter_target(
                f"{base}/Users", f'userName eq "{email}"', "&startIndex=1&count=100"
            )
            await recorder.send(connection, "lookup", "GET", target)

        return run

    return (step(email) for email in plan["emails"])


def import_users(plan: dict[str, Any]) -> Iterable[Step]:
    """Okta's import: one walk through every page, startIndex=1,101,201... one at a time."""
    base, count = plan["path"], plan.get("count", 100)

    async def run(connection: Connection, recorder: Recorder) -> None:
        start, seen = 1, 0
        # Bounded: never more pages than the plan says the directory can hold.
        for _ in range(plan["max_pages"]):
            page = await recorder.send(
                connection, "page", "GET", f"{base}/Users?startIndex={start}&count={count}"
            )
            if page.status != 200:
                return
            body = page.json()
            returned = len(body.get("Resources", []))
            seen += returned
            if returned < count or seen >= body.get("totalResults", 0):
                recorder.created["users_seen"] = str(seen)
                return
            start += count

    return [run]


def patch_members(plan: dict[str, Any]) -> Iterable[Step]:
    """Single-member changes to one group: add a user, then remove it, `rounds` times."""
    base, group_id = plan["path"], plan["group_id"]
    target = f"{base}/Groups/{group_id}"

    def step(user_id: str) -> Step:
        async def run(connection: Connection, recorder: Recorder) -> None:
            add = {"op": "add", "path": "members", "value": [{"value": user_id}]}
            remove = {"op": "remove", "path": f'members[value eq "{user_id}"]'}
            for kind, operation in (("add", add), ("remove", remove)):
                body = {"schemas": [PATCH_SCHEMA], "Operations": [operation]}
                await recorder.send(connection, kind, "PATCH", target, body)

        return run

    return (step(user_id) for user_id in plan["user_ids"])


def create_groups(plan: dict[str, Any]) -> Iterable[Step]:
    """Push groups: look the name up, POST the group empty, then PATCH its members in chunks.

    `idp: entra` sends Entra ID's shapes (its schema, an externalId, `Add`, excludedAttributes
    on the lookup); otherwise Okta's.
    """
    base, entra = plan["path"], plan.get("idp") == "entra"
    chunk = plan.get("chunk", 100)

    def step(name: str, member_ids: list[str]) -> Step:
        async def run(connection: Connection, recorder: Recorder) -> None:
            extra = "&excludedAttributes=members" if entra else ""
            lookup = _filter_target(f"{base}/Groups", f'displayName eq "{name}"', extra)
            await recorder.send(connection, "group-lookup", "GET", lookup)
            body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "displayName": name}
            if entra:
                body["schemas"].append(ENTRA_GROUP_SCHEMA)
                body["externalId"] = hashlib.sha256(name.encode()).hexdigest()[:36]
            else:
                body["members"] = []
            created = await recorder.send(
                connection, "group-create", "POST", f"{base}/Groups", body
            )
            if created.status != 201:
                return
            group_id = created.json()["id"]
            recorder.created[name] = group_id
            for offset in range(0, len(member_ids), chunk):
                values = [{"value": user_id} for user_id in member_ids[offset : offset + chunk]]
                operation = {"op": "Add" if entra else "add", "path": "members", "value": values}
                await recorder.send(
                    connection,
                    "group-members",
                    "PATCH",
                    f"{base}/Groups/{group_id}",
                    {"schemas": [PATCH_SCHEMA], "Operations": [operation]},
                )

        return run

    return (step(group["name"], group["member_ids"]) for group in plan["groups"])


PLANS: dict[str, Callable[[dict[str, Any]], Iterable[Step]]] = {
    "create_users": create_users,
    "reapply_users": reapply_users,
    "lookup_users": lookup_users,
    "import_users": import_users,
    "patch_members": patch_members,
    "create_groups": create_groups,
}


async def drive(plan: dict[str, Any]) -> Recorder:
    """Run the plan's steps on `concurrency` connections; each takes the next step when free."""
    url = urlsplit(plan["base_url"])
    plan = {**plan, "path": url.path.rstrip("/")}
    headers = (
        f"Host: {url.netloc}\r\nAuthorization: Bearer {plan['token']}\r\n"
        f"Accept: application/scim+json\r\nContent-Type: {SCIM_JSON}\r\n"
    ).encode()
    steps = iter(PLANS[plan["kind"]](plan))
    recorder = Recorder()

    async def worker() -> None:
        connection = Connection(url.hostname or "127.0.0.1", url.port or 80, headers)
        try:
            for step in steps:
                await step(connection, recorder)
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(plan.get("concurrency", 8))))
    return recorder


def main() -> None:
    plan_path, result_path = sys.argv[1], sys.argv[2]
    with open(plan_path, "rb") as plan_file:
        plan = orjson.loads(plan_file.read())
    cpu_before, wall_before = os.times(), time.monotonic()
    recorder = asyncio.run(drive(plan))
    cpu_after, wall = os.times(), time.monotonic() - wall_before
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    result = {
        "requests": recorder.requests,
        "created": recorder.created,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
    }
    with open(result_path, "wb") as result_file:
        result_file.write(orjson.dumps(result))


if __name__ == "__main__":
    main()
