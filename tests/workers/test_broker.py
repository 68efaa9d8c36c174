"""The broker is installed by a process's entry point; importing the actors needs nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.support.processes import ROOT
from workers.actors import all_actors
from workers.keys import QUEUES


def run_fresh(code: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """`code` in a new interpreter, without SCIMGATE_REDIS_URL unless given."""
    env = {k: v for k, v in os.environ.items() if k != "SCIMGATE_REDIS_URL"} | environ
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_actors_import_without_redis_and_refuse_to_send_until_a_broker_is_installed():
    result = run_fresh(
        """
        from workers.actors import reconcile
        from workers.broker import BrokerNotInstalled
        try:
            reconcile.send(1)
        except BrokerNotInstalled as error:
            print("refused:", error)
        """
    )

    assert result.returncode == 0, result.stderr
    assert "refused: roster.reconcile was sent before setup_broker()" in result.stdout


def test_setup_moves_every_actor_declared_before_it_onto_the_redis_broker(redis_url: str):
    result = run_fresh(
        """
        from workers.actors import all_actors
        from workers.broker import setup_broker
        broker = setup_broker()
        print(sorted({a.broker is broker for a in all_actors()}))
        print(sorted(broker.get_declared_actors()))
        """,
        SCIMGATE_REDIS_URL=redis_url,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[True]",
        str(sorted(actor.actor_name for actor in all_actors())),
    ]


def test_every_actor_uses_a_queue_the_layout_names():
    assert {actor.queue_name for actor in all_actors()} == set(QUEUES)
