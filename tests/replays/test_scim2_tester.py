"""scim2-tester, the SCIM compliance checker, against a live gunicorn of ours."""

from __future__ import annotations

from collections import Counter

from scim2_tester import Status, check_server

from tests.replays.conftest import LiveScim
from tests.support.tester import checker_client


def test_scim2_tester_finds_no_error(live: LiveScim):
    results = check_server(checker_client(live.base_url, live.token))

    failures = [
        f"{result.status.name} {result.title} {result.resource_type}: {result.reason}"
        for result in results
        if result.status in (Status.ERROR, Status.CRITICAL)
    ]
    assert not failures, "\n".join(failures)
    counts = Counter(result.status for result in results)
    # It did exercise Users and Groups: creation, reads, replacement, patches and deletion.
    assert counts[Status.SUCCESS] >= 100, counts
    exercised = {(result.title, result.resource_type) for result in results}
    for check in (
        "object_creation",
        "object_replacement",
        "object_deletion",
        "check_add_attribute",
    ):
        assert (check, "User") in exercised and (check, "Group") in exercised
