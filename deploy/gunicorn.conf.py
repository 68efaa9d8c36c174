"""gunicorn settings for the web role: gthread workers, sized from the environment."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2, 8)))
worker_class = "gthread"
threads = int(os.environ.get("SCIMGATE_WEB_THREADS", "8"))
# Okta gives up after 60 s; a request still running at 30 s is stuck, not slow.
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = 20000
max_requests_jitter = 2000
accesslog = "-" if os.environ.get("SCIMGATE_ACCESS_LOG") else None
errorlog = "-"
loglevel = os.environ.get("SCIMGATE_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket lives at one fixed path per user; several instances on one host
# (tests, a blue/green deploy) would fight over it, and nothing of ours uses it.
control_socket_disable = True
