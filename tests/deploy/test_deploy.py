"""The deployment files say what the code does: roles, probes, grace periods, schemas.

Kubernetes manifests are validated against the API's JSON schemas shipped by the
kubernetes-validate package (offline); KEDA's objects against the fields of its CRDs. The
compose file goes through `docker compose config` (or `docker-compose config`) where one is
installed, and through structural checks everywhere, CI included.
"""

from __future__ import annotations

import copy
import json
import re
import runpy
import shlex
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from api.errors import ERROR_SCHEMA
from models.core.config import Settings
from tests.support.services import IN_CI
from workers.keys import NAMESPACE
from workers.process import longest_time_limit_ms

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
COMPOSE = DEPLOY / "docker-compose.yml"
NGINX_TEMPLATE = DEPLOY / "nginx" / "scimgate.conf.template"
# The oldest Kubernetes release the manifests promise to work on.
KUBERNETES_VERSION = "1.30.0"
ROLES = ("release", "web", "worker", "clock")


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def gunicorn_config(environ: dict[str, str] | None = None) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (environ or {}).items():
            patch.setenv(name, value)
        return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def manifest(kind: str, name: str) -> dict[str, Any]:
    found = [m for m in manifests() if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(deployment: str) -> dict[str, Any]:
    return manifest("Deployment", deployment)["spec"]["template"]["spec"]


def api_objects() -> list[dict[str, Any]]:
    """The manifests Kubernetes itself defines (not KEDA's, not kustomize's)."""
    return [m for m in manifests() if not m["apiVersion"].startswith(("keda.sh/", "kustomize."))]


# The fields of KEDA's CRDs (keda.sh/v1alpha1) these manifests use, as KEDA documents them.
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}},
}
SCALED_OBJECT_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"type": "string"},
                        "apiVersion": {"type": "string"},
                        "envSourceContainerName": {"type": "string"},
                    },
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"},
                            "name": {"type": "string"},
                            "metadata": _STRING_MAP,
                            "authenticationRef": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "kind": {
                                        "enum": [
                                            "TriggerAuthentication",
                                            "ClusterTriggerAuthentication",
                                        ]
                                    },
                                },
                                "additionalProperties": False,
                            },
                        },
                    },
                },
            },
        },
    },
}
TRIGGER_AUTHENTICATION_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "TriggerAuthentication"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "secretTargetRef": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["parameter", "name", "key"],
                        "additionalProperties": False,
                        "properties": {
                            "parameter": {"type": "string"},
                            "name": {"type": "string"},
                            "key": {"type": "string"},
                        },
                    },
                }
            },
        },
    },
}
KEDA_SCHEMAS = {
    "ScaledObject": SCALED_OBJECT_SCHEMA,
    "TriggerAuthentication": TRIGGER_AUTHENTICATION_SCHEMA,
}


class TestKubernetesSchemas:
    @pytest.mark.parametrize(
        "document", api_objects(), ids=lambda m: f"{m['kind']}/{m['metadata']['name']}"
    )
    def test_every_manifest_is_valid_for_the_kubernetes_api(self, document: dict[str, Any]):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)

    def test_the_schema_check_rejects_a_misspelled_field(self):
        broken = copy.deepcopy(manifest("Deployment", "scimgate-web"))
        container = broken["spec"]["template"]["spec"]["containers"][0]
        container["livenesProbe"] = container.pop("livenessProbe")
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)

    @pytest.mark.parametrize("kind", sorted(KEDA_SCHEMAS))
    def test_keda_objects_match_keda_s_crd_fields(self, kind: str):
        documents = [m for m in manifests() if m["kind"] == kind]
        assert documents
        for document in documents:
            jsonschema.validate(document, KEDA_SCHEMAS[kind])
        broken = copy.deepcopy(documents[0])
        broken["spec"]["unknownField"] = 1
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, KEDA_SCHEMAS[kind])

    def test_kustomize_builds_every_manifest_but_the_release_job(self):
        kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
        listed = set(kustomization["resources"])
        on_disk = {path.name for path in KUBERNETES.glob("*.yaml")}
        assert listed == on_disk - {"kustomization.yaml", "migrate-job.yaml"}
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            return
        built = subprocess.run(
            [kubectl, "kustomize", str(KUBERNETES)], capture_output=True, text=True, timeout=60
        )
        assert built.returncode == 0, built.stderr
        kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(built.stdout) if doc)
        assert kinds.count("Deployment") == 3


class TestKubernetesBehaviour:
    def test_web_worker_and_clock_run_the_procfile_commands(self):
        roles = procfile()
        for role in ("web", "worker", "clock"):
            container = pod_spec(f"scimgate-{role}")["containers"][0]
            assert shlex.join(container["command"]) == roles[role]
        job = manifest("Job", "scimgate-migrate")["spec"]["template"]["spec"]
        assert shlex.join(job["containers"][0]["command"]) == roles["release"]

    def test_exactly_one_clock_replaced_never_overlapped(self):
        clock = manifest("Deployment", "scimgate-clock")["spec"]
        assert clock["replicas"] == 1
        assert clock["strategy"] == {"type": "Recreate"}

    def test_every_container_has_probes_and_resources(self):
        for role in ("web", "worker", "clock"):
            container = pod_spec(f"scimgate-{role}")["containers"][0]
            assert "livenessProbe" in container, role
            assert "readinessProbe" in container, role
            assert container["resources"]["requests"]["cpu"], role
            assert container["resources"]["requests"]["memory"], role
            assert container["resources"]["limits"]["memory"], role
        web = pod_spec("scimgate-web")["containers"][0]
        assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"

    def test_secrets_are_referenced_never_inlined(self):
        assert not [m for m in manifests() if m["kind"] == "Secret"]
        text = "\n".join(path.read_text() for path in KUBERNETES.glob("*.yaml"))
        assert not re.search(r"(postgres(ql)?(\+\w+)?|rediss?)://", text)
        for role in ("web", "worker", "clock"):
            env = {
                item["name"]: item for item in pod_spec(f"scimgate-{role}")["containers"][0]["env"]
            }
            for name in ("SCIMGATE_DATABASE_URL", "SCIMGATE_REDIS_URL", "SCIMGATE_SECRET_KEY"):
                assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "scimgate-secrets"

    def test_base_urls_are_configured_so_no_forwarded_header_is_trusted(self):
        settings = manifest("ConfigMap", "scimgate")["data"]

        assert settings["SCIMGATE_PUBLIC_URL"].startswith("https://")
        assert "FORWARDED_ALLOW_IPS" not in settings
        assert gunicorn_config()["forwarded_allow_ips"] == "127.0.0.1"

    def test_grace_periods_outlast_the_work_they_let_finish(self):
        longest_job_seconds = longest_time_limit_ms() / 1000
        assert longest_job_seconds >= 15 * 60
        assert pod_spec("scimgate-worker")["terminationGracePeriodSeconds"] > longest_job_seconds
        web = pod_spec("scimgate-web")
        pre_stop = web["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
        assert pre_stop[0] == "sleep"
        graceful = gunicorn_config()["graceful_timeout"]
        assert web["terminationGracePeriodSeconds"] > graceful + int(pre_stop[1])

    def test_keda_scales_workers_on_the_roster_queue_they_consume(self):
        from workers.roster import reconcile

        scaled = manifest("ScaledObject", "scimgate-worker")["spec"]
        assert scaled["scaleTargetRef"]["name"] == "scimgate-worker"
        lists = [trigger["metadata"]["listName"] for trigger in scaled["triggers"]]
        assert f"{NAMESPACE}:{reconcile.queue_name}" == "scimgate:roster"
        assert "scimgate:roster" in lists
        for trigger in scaled["triggers"]:
            assert trigger["type"] == "redis"
            manifest("TriggerAuthentication", trigger["authenticationRef"]["name"])

    def test_the_service_the_budget_and_the_autoscaler_point_at_the_web_pods(self):
        web = manifest("Deployment", "scimgate-web")
        labels = web["spec"]["template"]["metadata"]["labels"]
        service = manifest("Service", "scimgate-web")["spec"]
        assert service["selector"].items() <= labels.items()
        ports = {port["name"] for port in web["spec"]["template"]["spec"]["containers"][0]["ports"]}
        assert service["ports"][0]["targetPort"] in ports
        budget = manifest("PodDisruptionBudget", "scimgate-web")["spec"]
        assert budget["selector"]["matchLabels"].items() <= labels.items()
        autoscaler = manifest("HorizontalPodAutoscaler", "scimgate-web")["spec"]
        assert autoscaler["scaleTargetRef"]["name"] == "scimgate-web"
        assert autoscaler["minReplicas"] >= budget["minAvailable"] + 1

    @pytest.mark.parametrize(
        ("deployment", "setting"),
        [
            ("scimgate-web", "SCIMGATE_WEB_METRICS_PORT"),
            ("scimgate-worker", "SCIMGATE_WORKER_METRICS_PORT"),
        ],
    )
    def test_prometheus_scrapes_the_metrics_port_and_no_service_exposes_it(
        self, deployment: str, setting: str
    ):
        template = manifest("Deployment", deployment)["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        declared = {
            p["name"]: p["containerPort"] for p in template["spec"]["containers"][0]["ports"]
        }
        settings = manifest("ConfigMap", "scimgate")["data"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert (
            int(annotations["prometheus.io/port"]) == declared["metrics"] == int(settings[setting])
        )
        # Prometheus reaches pods directly; the Services carry only the API.
        for service in (m for m in manifests() if m["kind"] == "Service"):
            for port in service["spec"]["ports"]:
                assert port["targetPort"] not in ("metrics", declared["metrics"]), service


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def compose_command() -> list[str] | None:
    """`docker compose` where the plugin is installed, else `docker-compose`, else None."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=30
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


class TestCompose:
    def test_the_compose_cli_accepts_the_file_and_rejects_a_broken_one(self, tmp_path: Path):
        command = compose_command()
        if command is None:
            message = "no docker compose CLI here (.ci/run installs Debian's docker-compose)"
            pytest.fail(message) if IN_CI else pytest.skip(message)
        accepted = subprocess.run(
            [*command, "-f", str(COMPOSE), "config"], capture_output=True, text=True, timeout=60
        )
        assert accepted.returncode == 0, accepted.stderr
        assert yaml.safe_load(accepted.stdout)["services"].keys() == compose()["services"].keys()
        broken = tmp_path / "deploy" / "docker-compose.yml"
        broken.parent.mkdir()
        broken.write_text(
            COMPOSE.read_text().replace("service_completed_successfully", "service_finished")
        )
        rejected = subprocess.run(
            [*command, "-f", str(broken), "config"], capture_output=True, text=True, timeout=60
        )
        assert rejected.returncode != 0

    def test_every_role_its_dependencies_and_their_health(self):
        services = compose()["services"]
        assert set(services) == {
            "postgres",
            "redis",
            "migrate",
            "web",
            "worker",
            "clock",
            "nginx",
        }
        roles = procfile()
        assert shlex.join(services["migrate"]["command"]) == roles["release"]
        assert services["migrate"]["restart"] == "no"
        for role in ("web", "worker", "clock"):
            service = services[role]
            assert shlex.join(service["command"]) == roles[role]
            assert service["depends_on"] == {
                "postgres": {"condition": "service_healthy"},
                "redis": {"condition": "service_healthy"},
                "migrate": {"condition": "service_completed_successfully"},
            }
            assert service["healthcheck"]["test"], role
            assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        for backing in ("postgres", "redis"):
            assert services[backing]["healthcheck"]["test"], backing

    def test_only_nginx_publishes_a_port_and_it_proxies_with_the_shipped_template(self):
        services = compose()["services"]
        published = {name for name, service in services.items() if service.get("ports")}
        assert published == {"nginx"}
        nginx = services["nginx"]
        source, target = nginx["volumes"][0].split(":")[:2]
        assert (COMPOSE.parent / source).resolve() == NGINX_TEMPLATE
        # The image renders templates/NAME.template to conf.d/NAME: this replaces its default.
        assert target == "/etc/nginx/templates/default.conf.template"
        environment = nginx["environment"]
        assert environment["SCIMGATE_UPSTREAM"] == "web:8000"
        assert nginx["ports"] == [f"8000:{environment['NGINX_PORT']}"]
        assert nginx["depends_on"] == {"web": {"condition": "service_healthy"}}

    def test_the_nginx_image_substitutes_exactly_the_template_s_variables(self):
        environment = compose()["services"]["nginx"]["environment"]
        variables = set(re.findall(r"\$\{(\w+)\}", NGINX_TEMPLATE.read_text()))
        assert variables <= environment.keys()
        # Compose reads `$$` as one `$`; the image's entrypoint matches names with awk's ERE.
        name_filter = re.compile(environment["NGINX_ENVSUBST_FILTER"].replace("$$", "$"))
        substituted = {name for name in environment if name_filter.search(name)}
        assert substituted == variables
        # Nor would it touch nginx's own variables, were the environment to hold such names.
        assert not name_filter.search("host") and not name_filter.search("NGINX_PORTS")

    def test_stops_wait_for_requests_and_jobs_to_finish(self):
        services = compose()["services"]
        assert _duration_seconds(services["worker"]["stop_grace_period"]) > (
            longest_time_limit_ms() / 1000
        )
        assert (
            _duration_seconds(services["web"]["stop_grace_period"])
            > gunicorn_config()["graceful_timeout"]
        )


def _duration_seconds(value: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(float(number) * units[unit] for number, unit in re.findall(r"(\d+)([smh])", value))


def nginx_settings(block: str) -> dict[str, str]:
    """The directives of one block of the nginx template (`upstream scimgate_web`, `server`,
    `location /`), without those of the blocks inside it.

    Braces count as blocks even inside quotes; the template's only quoted ones, in a JSON body,
    are balanced.
    """
    # Without comments, and `${NAME}` as `$NAME`, so that those braces do not count.
    text = re.sub(r"#[^\n]*", "", NGINX_TEMPLATE.read_text())
    text = re.sub(r"\$\{(\w+)\}", r"$\1", text)
    settings: dict[str, str] = {}
    depth, statement = 0, ""
    for character in text[text.index(block + " {") + len(block) + 2 :]:
        if character == "{":
            depth, statement = depth + 1, ""
        elif character == "}":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and character == ";":
            name, _, value = statement.strip().partition(" ")
            settings[name] = value.strip()
            statement = ""
        elif depth == 0:
            statement += character
    return settings


def _nginx_seconds(value: str) -> float:
    return _duration_seconds(value) if value[-1].isalpha() else float(value)


def _nginx_bytes(value: str) -> int:
    units = {"k": 1024, "m": 1024 * 1024}
    return int(value[:-1]) * units[value[-1].lower()] if value[-1].isalpha() else int(value)


class TestProxy:
    def test_nginx_outwaits_gunicorn_and_lets_go_of_idle_upstream_connections_first(self):
        gunicorn = gunicorn_config()
        upstream = nginx_settings("upstream scimgate_web")
        server = nginx_settings("server")
        proxied = nginx_settings("location /")
        assert _nginx_seconds(upstream["keepalive_timeout"]) < gunicorn["keepalive"]
        assert gunicorn["timeout"] < _nginx_seconds(proxied["proxy_read_timeout"]) < 60
        assert _nginx_seconds(server["client_header_timeout"]) <= 10
        assert (proxied["proxy_request_buffering"], proxied["proxy_buffering"]) == ("on", "on")
        # scimgate answers 413 itself, as a SCIM error, up to the proxy's larger bound; past
        # it, nginx's own SCIM error names that bound.
        proxy_limit = _nginx_bytes(server["client_max_body_size"])
        assert proxy_limit > Settings.from_env({}).max_body_bytes
        assert server["error_page"] == "413 @body_too_large"
        too_large = re.search(r"return 413 '(.+)';", NGINX_TEMPLATE.read_text())
        assert too_large, "no SCIM error body for 413"
        assert json.loads(too_large.group(1)) == {
            "schemas": [ERROR_SCHEMA],
            "status": "413",
            "detail": f"the body is larger than {proxy_limit} bytes",
        }

    def test_the_ingress_carries_the_same_limits_and_routes_no_internal_endpoint(self):
        ingress = manifest("Ingress", "scimgate")
        annotations = {
            name.removeprefix("nginx.ingress.kubernetes.io/"): value
            for name, value in ingress["metadata"]["annotations"].items()
        }
        proxied = nginx_settings("location /")
        assert _nginx_bytes(annotations["proxy-body-size"]) == _nginx_bytes(
            nginx_settings("server")["client_max_body_size"]
        )
        for name in ("proxy-read-timeout", "proxy-send-timeout", "proxy-connect-timeout"):
            assert float(annotations[name]) == _nginx_seconds(proxied[name.replace("-", "_")])
        assert (annotations["proxy-request-buffering"], annotations["proxy-buffering"]) == (
            "on",
            "on",
        )
        paths = [path for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
        for internal in ("/metrics", "/readyz"):
            assert not [
                path
                for path in paths
                if internal == path["path"]
                or (path["pathType"] == "Prefix" and internal.startswith(path["path"]))
            ], internal
        assert {"/scim/v2", "/healthz"} <= {path["path"] for path in paths}


class TestImage:
    def test_one_slim_multi_stage_image_running_as_a_user_with_a_health_check(self):
        lines = [
            line.strip()
            for line in (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        stages = [line for line in lines if line.startswith("FROM ")]
        assert len(stages) >= 2
        assert all(line.split()[1] == "python:3.11-slim" for line in stages)
        final_stage = lines[lines.index(stages[-1]) :]
        users = [line.split()[1] for line in final_stage if line.startswith("USER ")]
        assert users and users[-1].split(":")[0] not in ("root", "0")
        healthcheck = next(line for line in final_stage if line.startswith("HEALTHCHECK "))
        assert "/healthz" in healthcheck
        command = next(line for line in final_stage if line.startswith("CMD "))
        assert shlex.join(json.loads(command[len("CMD ") :])) == procfile()["web"]


class TestProcesses:
    def test_the_procfile_names_the_four_roles(self):
        roles = procfile()
        assert tuple(roles) == ROLES
        assert roles["release"] == "scimgate db upgrade"
        assert roles["web"].startswith("gunicorn -c deploy/gunicorn.conf.py ")
        assert roles["worker"].startswith("scimgate worker ")
        assert roles["clock"] == "scimgate clock"

    def test_a_metrics_port_of_0_starts_no_metrics_listener(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ):
        config = gunicorn_config()
        monkeypatch.setenv("SCIMGATE_WEB_METRICS_PORT", "0")
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
        logged: list[str] = []
        # What the hook uses of gunicorn's Arbiter: its logger.
        master = SimpleNamespace(log=SimpleNamespace(info=logged.append))

        config["when_ready"](master)

        assert config["_listeners"] == []
        assert logged == ["metrics listener off (SCIMGATE_WEB_METRICS_PORT=0)"]

    def test_gunicorn_uses_threads_and_each_process_pools_one_connection_per_thread(self):
        config = gunicorn_config({"SCIMGATE_WEB_THREADS": "12"})
        assert config["worker_class"] == "gthread"
        assert config["threads"] == 12
        assert config["timeout"] <= 60  # Okta gives up at 60 s
        assert config["graceful_timeout"] >= config["timeout"]
        assert callable(config["child_exit"]) and callable(config["on_starting"])
        settings = Settings.from_env(
            {
                "SCIMGATE_WEB_THREADS": "12",
                "SCIMGATE_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:1/x",
                "SCIMGATE_REDIS_URL": "redis://127.0.0.1:1/0",
            }
        )
        from api.app import default_services

        pool = default_services(settings).database.engine.pool
        assert pool.size() == 12  # type: ignore[attr-defined]

    def test_rate_limit_settings_come_from_the_environment(self):
        settings = Settings.from_env(
            {"SCIMGATE_RATE_LIMIT_PER_SECOND": "25.5", "SCIMGATE_RATE_LIMIT_BURST": "50"}
        )
        assert (settings.rate_limit_per_second, settings.rate_limit_burst) == (25.5, 50)
        defaults = Settings.from_env({})
        assert (defaults.rate_limit_per_second, defaults.rate_limit_burst) == (100.0, 200)
        with pytest.raises(ValueError, match="SCIMGATE_RATE_LIMIT_PER_SECOND"):
            Settings.from_env({"SCIMGATE_RATE_LIMIT_PER_SECOND": "fast"})


class TestDashboard:
    def test_the_dashboard_is_grafana_json_whose_panels_query_our_metrics(self):
        dashboard = json.loads((DEPLOY / "grafana" / "scimgate.json").read_text())
        panels = dashboard["panels"]
        assert len({panel["id"] for panel in panels}) == len(panels)
        queries = [target for panel in panels for target in panel.get("targets", [])]
        assert len(queries) >= 10
        for query in queries:
            names = re.findall(
                r"\b[a-z_]+_(?:total|seconds|bucket|changes|events|messages|"
                r"inprogress|up|endpoints)\b",
                query["expr"],
            )
            assert names, query["expr"]
            assert all(name.startswith(("scimgate_", "dramatiq_")) for name in names)


class TestAlerts:
    def test_every_alert_has_an_expression_a_duration_a_severity_and_a_summary(self):
        groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        assert len(rules) >= 8
        assert len({rule["alert"] for rule in rules}) == len(rules)
        readme = (ROOT / "README.md").read_text()
        for rule in rules:
            assert rule["expr"].strip() and re.fullmatch(r"\d+[smh]", rule["for"])
            assert rule["labels"]["severity"] in ("page", "ticket")
            assert rule["annotations"]["summary"]
            # Whoever is paged finds what to do in the README.
            assert rule["alert"] in readme, rule["alert"]
