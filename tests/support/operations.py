"""What an operator's tools see: Prometheus scrapes, organizations set up by the CLI, latencies."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import Stack
from tests.support.scim import SCIM_JSON


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


class Scrape:
    """One scrape of a /metrics endpoint, parsed with prometheus_client's own parser."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families: set[str] = set()
        self.samples: list[Sample] = []
        for family in text_string_to_metric_families(text):
            self.families.add(family.name)
            for sample in family.samples:
                self.samples.append(Sample(sample.name, dict(sample.labels), sample.value))

    @classmethod
    def of(cls, url: str) -> Scrape:
        response = httpx.get(url, timeout=10)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        return cls(response.text)

    @property
    def names(self) -> set[str]:
        """Every name a query may use: families and their samples (`_total`, `_bucket`...)."""
        return self.families | {sample.name for sample in self.samples}

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called `name` whose labels include `labels`; 0 if none."""
        return sum(
            sample.value
            for sample in self.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    def has(self, name: str, **labels: str) -> bool:
        return any(
            sample.name == name and labels.items() <= sample.labels.items()
            for sample in self.samples
        )


def enable_organization(stack: Stack, slug: str, domain: str) -> tuple[str, str]:
    """Create an organization with a verified domain, SSO and SCIM on; (base URL, token)."""
    stack.cli("org", "create", slug, "--name", slug.title(), "--domain", domain)
    stack.connect_sso(slug)
    enabled = stack.cli("scim", "enable", slug).stdout
    token = re.search(r"^SCIM_TOKEN=(\S+)$", enabled, re.MULTILINE)
    base_url = re.search(r"^SCIM_BASE_URL=(\S+)$", enabled, re.MULTILINE)
    assert token and base_url, enabled
    return base_url.group(1), token.group(1)


def scim_client(base_url: str, token: str, **options: object) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON, "Accept": SCIM_JSON}
    return httpx.Client(base_url=base_url, headers=headers, timeout=30, **options)  # type: ignore[arg-type]


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value at or above `fraction` of them."""
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]
