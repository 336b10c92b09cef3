"""Labels through grpcio (stubs generated from Schema/topology.proto by grpc_tools, nobody's codec
here): registered as a protobuf map, shown on the node, selected by GetTopology and a watch, and
refused with INVALID_ARGUMENT and the server's reason."""

from __future__ import annotations

import grpc
import pytest


def test_labels_are_registered_shown_and_selected(client, stubs):
    m = stubs.messages
    pay = m.RegisterServiceRequest(service_name="payments", service_type=1)
    pay.labels.update({"team": "payments", "tier": "backend", "canary": ""})
    pay_id = client.RegisterService(pay, timeout=5).handle.service_id
    core = m.RegisterServiceRequest(service_name="core", service_type=1)
    core.labels["team"] = "core"
    client.RegisterService(core, timeout=5)

    def names(*selectors):
        query = m.TopologyQuery(label_selectors=list(selectors))
        return sorted(n.service_name for n in client.GetTopology(m.GetTopologyRequest(query=query), timeout=5).snapshot.nodes)

    assert names() == ["core", "payments"]
    assert names("team=payments") == ["payments"]
    assert names("team") == ["core", "payments"]
    assert names("canary=") == ["payments"]
    assert names("team=payments", "tier=frontend") == []

    watch = client.WatchTopology(m.WatchTopologyRequest(query=m.TopologyQuery(label_selectors=["tier=backend"])), timeout=10)
    first = next(watch)
    [node] = first.update.snapshot.nodes
    assert node.service_id == pay_id and dict(node.labels) == {"team": "payments", "tier": "backend", "canary": ""}
    # A re-registration that drops the label takes the node out of this watcher's view.
    again = m.RegisterServiceRequest(service_name="payments", service_type=1, service_id=pay_id)
    again.labels["team"] = "payments"
    client.RegisterService(again, timeout=5)
    removed = next(u for u in watch if u.update.type == m.UPDATE_TYPE_NODE_REMOVED)
    assert removed.update.node.service_id == pay_id and dict(removed.update.node.labels) == {"team": "payments"}
    watch.cancel()


def test_bad_labels_and_selectors_are_invalid_argument(client, stubs):
    m = stubs.messages
    bad = m.RegisterServiceRequest(service_name="x", service_type=1)
    bad.labels["line\nbreak"] = "v"
    with pytest.raises(grpc.RpcError) as refused:
        client.RegisterService(bad, timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == "invalid labels: key 'lineU+000Abreak' contains a control character"
    with pytest.raises(grpc.RpcError) as selector:
        client.GetTopology(m.GetTopologyRequest(query=m.TopologyQuery(label_selectors=["=x"])), timeout=5)
    assert selector.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "has no key" in selector.value.details()
