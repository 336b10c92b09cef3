"""Labels from the Python client to a real topology-server ($TOPOLOGY_SERVER) and back: stored on
the node, filtered by GetTopology, a watch and the CLI, refused with a status when the server's
rules say so, and refused before sending when they are not strings."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterator

import pytest

from conftest import ServerProcess
from test_cli import run_cli
from topology_client import ServerStatusError, TopologyClient, TopologyQuery, UpdateType
from topology_client.messages import RegisterServiceRequest, ServiceNode


@pytest.fixture
def observer(server: ServerProcess) -> Iterator[TopologyClient]:
    client = TopologyClient(server.address, timeout=2)
    yield client
    client.close()


def test_labels_encode_as_map_entries_in_key_order() -> None:
    request = RegisterServiceRequest(service_name="a", labels={"tier": "web", "app": ""})
    assert request.encode().hex() == "0a0161" + "aa01070a03617070" + "1200" + "aa010b0a04746965721203776562"
    assert RegisterServiceRequest.decode(request.encode()) == request
    assert request.to_dict() == {"serviceName": "a", "labels": {"app": "", "tier": "web"}}
    assert ServiceNode.decode(bytes.fromhex("ba0106" + "0a016b" + "120176")).labels == {"k": "v"}


def test_labels_reach_the_node_and_filter_get_and_watch(server: ServerProcess, observer: TopologyClient) -> None:
    with TopologyClient(server.address, timeout=2) as pay, TopologyClient(server.address, timeout=2) as core:
        with observer.watch(TopologyQuery(label_selectors=["team=payments"])) as watch:
            first = watch.next_update(timeout=2)
            assert first is not None and first.type == UpdateType.UPDATE_TYPE_SNAPSHOT
            pay.register("py-pay", labels={"team": "payments", "tier": "web"})
            core.register("py-core", labels={"team": "core"})
            nodes = observer.get_topology(TopologyQuery(label_selectors=["team=payments"])).nodes
            assert [(n.service_name, n.labels) for n in nodes] == [("py-pay", {"team": "payments", "tier": "web"})]
            names = {n.service_name for n in observer.get_topology(TopologyQuery(label_selectors=["team"])).nodes}
            assert names == {"py-pay", "py-core"}
            seen: Dict[str, Any] = {}
            deadline = time.monotonic() + 3
            while "py-pay" not in seen and time.monotonic() < deadline:
                update = watch.next_update(timeout=deadline - time.monotonic())
                if update is not None and update.node is not None:
                    seen[update.node.service_name] = update.node.labels
            assert seen.get("py-pay") == {"team": "payments", "tier": "web"}
            assert "py-core" not in seen
            # A re-registration replaces the labels: py-pay leaves the watcher's view.
            pay.register("py-pay", labels={"team": "core"})
            deadline = time.monotonic() + 3
            removed = None
            while removed is None and time.monotonic() < deadline:
                update = watch.next_update(timeout=deadline - time.monotonic())
                if update is not None and update.type == UpdateType.UPDATE_TYPE_NODE_REMOVED:
                    removed = update.node
            assert removed is not None and removed.service_name == "py-pay"


def test_labels_the_server_refuses_are_a_status_error(server: ServerProcess) -> None:
    with TopologyClient(server.address, timeout=2) as client:
        with pytest.raises(ServerStatusError) as info:
            client.register("py-bad", labels={"a=b": "c"})
        assert info.value.code == 3
        assert "key 'a=b' contains '='" in info.value.status_message
        with pytest.raises(ServerStatusError) as info:
            client.register("py-bad", labels={f"k{i}": "" for i in range(65)})
        assert info.value.code == 3 and "65 labels, at most 64 allowed" in info.value.status_message
        with pytest.raises(ServerStatusError) as info:
            client.get_topology(TopologyQuery(label_selectors=["=x"]))
        assert info.value.code == 3 and "has no key" in info.value.status_message


def test_labels_that_are_not_strings_are_refused_before_sending() -> None:
    client = TopologyClient("127.0.0.1:1", timeout=0.2)
    try:
        with pytest.raises(TypeError, match=r"labels must map str to str; 'team' -> '7' is str -> int"):
            client.register("py", labels={"team": 7})  # type: ignore[dict-item]
        with pytest.raises(TypeError, match="labels must be a mapping of str to str, not list"):
            client.register("py", labels=[("team", "x")])  # type: ignore[arg-type]
    finally:
        client.close()


def test_cli_registers_with_labels_and_filters_by_label(server: ServerProcess, observer: TopologyClient) -> None:
    with TopologyClient(server.address, timeout=2) as other:
        other.register("py-other", labels={"team": "core"})
        with TopologyClient(server.address, timeout=2) as pay:
            pay.register("py-cli", labels={"team": "payments"})
            result = run_cli("--address", server.address, "get", "--json", "--label", "team=payments")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(n["serviceName"], n["labels"]) for n in data["nodes"]] == [("py-cli", {"team": "payments"})]
    bad = run_cli("register", "x", "--label", "novalue")
    assert bad.returncode == 2 and "expected KEY=VALUE, got 'novalue'" in bad.stderr
