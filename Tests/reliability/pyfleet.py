"""Many services through the Python client, and one watcher: the Python half of the crash-restart
test. The same command line and output as the C client's ``clients/c/tests/fleet.c``:

    python pyfleet.py HOST:PORT COUNT NAME_PREFIX

prints ``service ID`` per registration, ``ready``, then what its watch sees (``snapshot EPOCH
RESYNC ID ...``, ``node ID``, ``removed ID``) until its stdin closes. Each service is its own
``TopologyClient`` (one service per client), so each recovers by itself.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))

from topology_client import TopologyClient, TopologyUpdate, UpdateType  # noqa: E402


def line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def report(update: TopologyUpdate) -> None:
    if update.type == UpdateType.UPDATE_TYPE_SNAPSHOT and update.snapshot is not None:
        ids = " ".join(node.service_id for node in update.snapshot.nodes)
        line(f"snapshot {update.snapshot.server_epoch or '-'} {int(update.resync)} {ids}".rstrip())
    elif update.node is not None and update.type in (UpdateType.UPDATE_TYPE_NODE_ADDED, UpdateType.UPDATE_TYPE_NODE_UPDATED):
        line(f"node {update.node.service_id}")
    elif update.node is not None and update.type == UpdateType.UPDATE_TYPE_NODE_REMOVED:
        line(f"removed {update.node.service_id}")


def main() -> int:
    address, count, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    clients = []
    try:
        for index in range(count):
            client = TopologyClient(address, timeout=2)
            clients.append(client)
            line(f"service {client.register(f'{prefix}-{index}').service_id}")
        # Reconnect at most one heartbeat interval apart, like the services.
        interval = clients[0].handle.heartbeat_interval_ms / 1000
        watch = clients[0].watch(reconnect_max_delay=interval)
        line("ready")

        def follow() -> None:
            for update in watch:
                report(update)

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        sys.stdin.read()  # until the test closes our stdin
        watch.close()
        thread.join(5)
        return 0
    finally:
        for client in clients:
            client.close()


if __name__ == "__main__":
    sys.exit(main())
