"""The command line: ``python3 -m topology_client [--address A] {get,watch,register} ...``.

- ``get [--json]``: one snapshot, as tables or as proto3 JSON;
- ``watch``: a live table refreshed in place on a terminal; one line per update otherwise;
- ``register NAME``: registers a service and heartbeats until Ctrl-C (then unregisters).

A server run with ``--auth-token-file`` needs its token: ``--token-file PATH`` or the environment
variable ``TOPOLOGY_AUTH_TOKEN_FILE`` (the file's trailing newline is not part of the token).

Errors are printed as one line on stderr, with exit status 1 (2 for bad usage).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any, Iterable, List, Optional, Sequence, TextIO, Tuple

from ._transport import DEFAULT_ADDRESS, normalize_addresses
from .client import ClientState, ProcessMetrics, TopologyClient
from .errors import TopologyError
from .messages import (ServiceEdge, ServiceLanguage, ServiceMetadata, ServiceNode, ServiceState, ServiceType,
                       TopologyQuery, TopologySnapshot, TopologyUpdate, UpdateType, short_name)
from .watch import TopologyView

PROG = "python3 -m topology_client"
TOKEN_FILE_ENV = "TOPOLOGY_AUTH_TOKEN_FILE"


def read_token_file(path: str) -> str:
    """The token in ``path``: the file without its trailing line breaks. Raises ``TopologyError``
    when it cannot be read or holds nothing."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.read(4096).rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise TopologyError(f"cannot read the token file {path}: {getattr(error, 'strerror', None) or error}") from None
    if not token:
        raise TopologyError(f"the token file {path} is empty")
    return token


# --------------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------------

def _age(now_ms: int, then_ms: int) -> str:
    if then_ms <= 0:
        return "-"
    seconds = max(0.0, (now_ms - then_ms) / 1000)
    if seconds < 60:
        return f"{seconds:.1f}s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.0f}h ago"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> List[str]:
    rows = [list(map(str, row)) for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*headers).rstrip()] + [fmt.format(*row).rstrip() for row in rows]


def format_snapshot(snapshot: TopologySnapshot, now_ms: Optional[int] = None) -> List[str]:
    """The nodes table and the edges table of a snapshot, as lines."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    names = {node.service_id: node.service_name for node in snapshot.nodes}
    nodes = sorted(snapshot.nodes, key=lambda n: (n.service_name, n.service_id))
    lines = [f"SERVICES ({len(nodes)})"]
    lines += _table(("NAME", "STATE", "HEALTH", "LANGUAGE", "LAST HEARTBEAT", "VERSION", "ID"), (
        (n.service_name, short_name(n.state), short_name(n.health), short_name(n.language),
         _age(now_ms, n.last_heartbeat_ms), n.version or "-", n.service_id) for n in nodes))
    edges = sorted(snapshot.edges, key=lambda e: (names.get(e.source_service_id, e.source_service_id), e.target_service))
    lines += ["", f"EDGES ({len(edges)})"]
    lines += _table(("SOURCE", "", "TARGET", "STATE", "RPS", "P99", "ERRORS", "REQUESTS"), (
        (names.get(e.source_service_id, e.source_service_id[:8]), "->", e.target_service, short_name(e.state),
         f"{e.rps:.1f}", f"{e.latency_p99_ms:.1f}ms", f"{e.error_rate * 100:.1f}%", str(e.total_requests))
        for e in edges))
    return lines


def _node_fields(node: ServiceNode) -> str:
    return (f"name={node.service_name} id={node.service_id} state={short_name(node.state)} "
            f"health={short_name(node.health)} language={short_name(node.language)}")


def _edge_fields(edge: ServiceEdge, view: TopologyView) -> str:
    return (f"source={view.node_name(edge.source_service_id)} target={edge.target_service} "
            f"state={short_name(edge.state)} rps={edge.rps:.1f} p99={edge.latency_p99_ms:.1f}ms "
            f"error_rate={edge.error_rate:.3f} requests={edge.total_requests}")


def format_update(update: TopologyUpdate, view: TopologyView) -> List[str]:
    """One line per update (a snapshot: its summary, then one line per node and edge)."""
    kind = short_name(update.type)
    if update.type == UpdateType.UPDATE_TYPE_SNAPSHOT and update.snapshot is not None:
        snap = update.snapshot
        lines = [f"{kind} revision={view.revision} nodes={len(snap.nodes)} edges={len(snap.edges)}"
                 + (" resync" if update.resync else "")]
        lines += [f"  NODE {_node_fields(n)}" for n in snap.nodes]
        lines += [f"  EDGE {_edge_fields(e, view)}" for e in snap.edges]
        return lines
    suffix = " coalesced" if update.coalesced else ""
    if update.node is not None:
        return [f"{kind} revision={update.revision} {_node_fields(update.node)}{suffix}"]
    if update.edge is not None:
        return [f"{kind} revision={update.revision} {_edge_fields(update.edge, view)}{suffix}"]
    return [f"{kind} revision={update.revision}{suffix}"]


# --------------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------------

def _query(args: argparse.Namespace) -> TopologyQuery:
    states = [ServiceState[f"SERVICE_STATE_{s.upper()}"] for s in args.state or []]
    return TopologyQuery(service_names=list(args.service or []), states=states,
                         environments=list(args.environment or []), label_selectors=list(args.label or []))


def cmd_get(args: argparse.Namespace, out: TextIO) -> int:
    client = TopologyClient(args.address, timeout=args.timeout, token=args.token)
    try:
        snapshot = client.get_topology(_query(args))
    finally:
        client.close()
    if args.json:
        json.dump(snapshot.to_dict(), out, indent=2, sort_keys=True)
        out.write("\n")
    else:
        out.write("\n".join(format_snapshot(snapshot)) + "\n")
    return 0


def cmd_watch(args: argparse.Namespace, out: TextIO) -> int:
    live = out.isatty() and not args.plain
    client = TopologyClient(args.address, timeout=args.timeout, token=args.token)
    view = TopologyView()
    with client.watch(_query(args), idle_timeout=args.idle_timeout) as watch:
        if not live:
            for update in watch:
                view.apply(update)
                out.write("\n".join(format_update(update, view)) + "\n")
                out.flush()
            return 0
        last_draw = 0.0
        dirty = True
        while True:
            change = watch.next_update(timeout=0.25)
            if change is not None:
                view.apply(change)
                dirty = True
            now = time.monotonic()
            if (dirty and now - last_draw >= 0.1) or now - last_draw >= 1.0:
                _draw(out, view, args.address, watch.connected, watch.last_error)
                last_draw = now
                dirty = False


def _draw(out: TextIO, view: TopologyView, addresses: List[str], connected: bool, last_error: Optional[str]) -> None:
    size = shutil.get_terminal_size((120, 40))
    status = "live" if connected else f"reconnecting ({last_error})"
    header = (f"topology {','.join(addresses)}  revision {view.revision}  {len(view.nodes)} services  "
              f"{len(view.edges)} edges  {status}  {time.strftime('%H:%M:%S')}")
    lines = [header, ""] + format_snapshot(view.snapshot())
    lines = [line[:size.columns] for line in lines[:size.lines - 1]]
    # Home, draw each line and clear its rest, then clear below: no flicker.
    out.write("\x1b[H" + "".join(f"{line}\x1b[K\n" for line in lines) + "\x1b[J")
    out.flush()


def cmd_register(args: argparse.Namespace, out: TextIO) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: Optional[FrameType]) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)

    def on_state(state: ClientState) -> None:
        out.write(f"state {state.value}\n")
        out.flush()

    metadata = ServiceMetadata(environment=args.environment, team=args.team, region=args.region)
    client = TopologyClient(args.address, timeout=args.timeout, token=args.token, on_state_change=on_state,
                            metrics_provider=ProcessMetrics())
    try:
        with client:
            handle = client.register(args.name, ServiceType[f"SERVICE_TYPE_{args.type.upper()}"],
                                     ServiceLanguage[f"SERVICE_LANGUAGE_{args.language.upper()}"],
                                     version=args.version, address=args.service_address, host=args.host,
                                     metadata=metadata if metadata.to_dict() else None,
                                     labels=dict(args.label or []))
            if handle is None:
                out.write(f"no server at {','.join(client.addresses)} yet: {args.name} registers as soon as one "
                          "answers\n")
            else:
                out.write(f"registered {args.name} id={handle.service_id} server={client.address} "
                          f"interval={handle.heartbeat_interval_ms}ms epoch={handle.server_epoch}\n")
            out.flush()
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
            out.write(f"unregistering {client.service_id or args.name}\n")
            out.flush()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


# --------------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------------

def _add_common(parser: argparse.ArgumentParser, top: bool) -> None:
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument("--address", "-a", action="append", default=default, metavar="HOST:PORT",
                        help=f"server address; repeat or comma-separate for failover (default {DEFAULT_ADDRESS})")
    parser.add_argument("--timeout", type=float, default=5.0 if top else argparse.SUPPRESS, metavar="SECONDS",
                        help="connect and answer timeout (default 5)")
    parser.add_argument("--token-file", default=default, metavar="PATH",
                        help=f"the token of a server run with --auth-token-file (default ${TOKEN_FILE_ENV})")


def _add_query(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--service", action="append", metavar="NAME", help="only this service name (repeatable)")
    parser.add_argument("--state", action="append", metavar="STATE",
                        choices=["registered", "idle", "active", "stale", "dead"], help="only this state (repeatable)")
    parser.add_argument("--environment", action="append", metavar="ENV", help="only this environment (repeatable)")
    parser.add_argument("--label", action="append", metavar="KEY[=VALUE]",
                        help="only services with this label value, or with this label at all (repeatable: all must match)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Look at and take part in a Topology service graph.")
    _add_common(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    get = commands.add_parser("get", help="print one snapshot of the topology")
    _add_common(get, top=False)
    _add_query(get)
    get.add_argument("--json", action="store_true", help="print the snapshot as JSON (protobuf JSON mapping)")

    watch = commands.add_parser("watch", help="watch the topology live")
    _add_common(watch, top=False)
    _add_query(watch)
    watch.add_argument("--plain", action="store_true", help="one line per update even on a terminal")
    watch.add_argument("--idle-timeout", type=float, default=30.0, metavar="SECONDS",
                       help="reconnect when the stream is silent this long (default 30)")

    register = commands.add_parser("register", help="register a service and heartbeat until Ctrl-C")
    _add_common(register, top=False)
    register.add_argument("name", help="the service name")
    register.add_argument("--type", default="server", choices=["server", "client", "hybrid"])
    register.add_argument("--language", default="python",
                          choices=[short_name(v).lower() for v in ServiceLanguage if v.value != 0])
    register.add_argument("--version")
    register.add_argument("--service-address", metavar="HOST:PORT", help="the address the service listens on")
    register.add_argument("--host")
    register.add_argument("--environment")
    register.add_argument("--team")
    register.add_argument("--region")
    register.add_argument("--label", action="append", metavar="KEY=VALUE", type=_label_argument,
                          help="a label of the service (repeatable)")
    return parser


def _label_argument(text: str) -> Tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text[:64]!r}")
    return key, value


def main(argv: Optional[Sequence[str]] = None, out: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.address = normalize_addresses(args.address or [DEFAULT_ADDRESS])
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(format="topology: %(levelname)s: %(message)s",
                        level=logging.INFO if args.command == "register" else logging.WARNING)
    handler = {"get": cmd_get, "watch": cmd_watch, "register": cmd_register}[args.command]
    try:
        token_file = args.token_file or os.environ.get(TOKEN_FILE_ENV)
        args.token = read_token_file(token_file) if token_file else None
        return handler(args, out)
    except TopologyError as error:
        sys.stderr.write(f"topology: error: {error}\n")
        return 1
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0
