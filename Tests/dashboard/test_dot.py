"""GET /api/v1/topology.dot read by pydot's DOT parser (test-only, PyPI; pure Python, no Graphviz
binary needed): services with names that need escaping, an edge to a service and one to a target
that is not registered."""

from __future__ import annotations

import pydot
import pytest

from dashboard_support import Server, wait_for
from topology_client import TopologyClient

# pydot 4.0.1 calls pyparsing's old names, which pyparsing 3.3 warns about.
pytestmark = pytest.mark.filterwarnings("ignore:'setParseAction' deprecated")

NAMES = ['api "edge"', "back\\slash", "db"]


def unquote(text: str) -> str:
    """A DOT quoted string's text (pydot keeps the quotes and escapes as written)."""
    assert text.startswith('"') and text.endswith('"'), text
    out, chars = [], iter(text[1:-1])
    for c in chars:
        if c == "\\":
            nxt = next(chars)
            out.append("\n" if nxt == "n" else nxt)
        else:
            out.append(c)
    return "".join(out)


def test_the_dot_export_parses_and_names_every_service_and_edge() -> None:
    server = Server()
    clients = []
    try:
        ids = {}
        for name in NAMES:
            client = TopologyClient(server.address, timeout=5)
            ids[name] = client.register(name).service_id
            clients.append(client)
        for _ in range(5):
            clients[0].report_call("db", "Query", latency_ms=2.0, ok=True)
            clients[0].report_call("cache.internal:6379", "GET", latency_ms=1.0, ok=False)
        text = wait_for(lambda: (lambda t: t if t.count("->") == 2 else None)(server.get("/api/v1/topology.dot").decode()),
                        10, "two edges in the DOT export")
        graphs = pydot.graph_from_dot_data(text)
        assert graphs is not None and len(graphs) == 1, text
        graph = graphs[0]
        assert graph.get_type() == "digraph"
        labels = {unquote(n.get_name()): unquote(n.get("label")) for n in graph.get_nodes() if n.get("label")}
        for name in NAMES:
            assert labels[ids[name]].split("\n")[0] == name, labels
        assert labels["target:cache.internal:6379"] == "cache.internal:6379"
        edges = {(unquote(e.get_source()), unquote(e.get_destination())): unquote(e.get("label")) for e in graph.get_edges()}
        assert set(edges) == {(ids[NAMES[0]], ids["db"]), (ids[NAMES[0]], "target:cache.internal:6379")}
        assert edges[(ids[NAMES[0]], "target:cache.internal:6379")].endswith("100 % errors")
    finally:
        for client in clients:
            client.close()
        server.stop()
