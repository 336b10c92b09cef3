"""Server CPU per heartbeat: one gRPC Heartbeat stream (HTTP/2, via the h2 library) against one
framed heartbeat call, on the same server process, in alternating rounds. Both clients write their
heartbeats in batches and read every reply, so the server sees the same batching either way; the
figure is the server's own CPU (all its threads, from /proc/PID/task/*/schedstat) per heartbeat, and the ratio gRPC/frames.

    python bench/grpc_heartbeats.py --address 127.0.0.1:PORT --pid PID [--heartbeats N] [--rounds R]

Prints `RESULT grpc_hb.<key> <value>` lines for scripts/bench.sh."""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "interop"))
import grpc_stubs  # noqa: E402
from bench_support import server_cpu_s, varint, read_varint  # noqa: E402

BATCH = 500


class Framed:
    """One framed heartbeat call on its own connection."""

    def __init__(self, address, m, service_id):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.m, self.service_id, self.sequence = m, service_id, 0
        self.pending = b""

    def frames(self, count):
        out = bytearray()
        for _ in range(count):
            self.sequence += 1
            body = self.m.Frame(call_id=1, heartbeat_request=self.m.HeartbeatRequest(service_id=self.service_id, sequence=self.sequence)).SerializeToString()
            out += varint(len(body)) + body
        return bytes(out)

    def round(self, count):
        done = 0
        while done < count:
            batch = min(BATCH, count - done)
            self.sock.sendall(self.frames(batch))
            replies = 0
            while replies < batch:
                self.pending += self.sock.recv(1 << 20)
                at = 0
                while True:
                    length, start = read_varint(self.pending, at)
                    if length is None or start + length > len(self.pending):
                        break
                    at = start + length
                    replies += 1
                self.pending = self.pending[at:]
            done += batch


class GRPC:
    """One gRPC Heartbeat stream (bidirectional) on its own HTTP/2 connection."""

    def __init__(self, address, m, service_id):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 30})
        self.conn.increment_flow_control_window(1 << 30)
        self.stream = self.conn.get_next_available_stream_id()
        self.conn.send_headers(self.stream, [(":method", "POST"), (":scheme", "http"), (":authority", address),
                                             (":path", "/runtime.v1.TopologyService/Heartbeat"),
                                             ("content-type", "application/grpc"), ("te", "trailers")])
        self.sock.sendall(self.conn.data_to_send())
        self.m, self.service_id, self.sequence = m, service_id, 0
        self.pending = b""

    def round(self, count):
        done = 0
        while done < count:
            batch = min(BATCH, count - done)
            data = bytearray()
            for _ in range(batch):
                self.sequence += 1
                body = self.m.HeartbeatRequest(service_id=self.service_id, sequence=self.sequence).SerializeToString()
                data += b"\0" + len(body).to_bytes(4, "big") + body
            for at in range(0, len(data), 16384):  # the server's SETTINGS_MAX_FRAME_SIZE
                self.conn.send_data(self.stream, bytes(data[at:at + 16384]))
            self.sock.sendall(self.conn.data_to_send())
            replies = 0
            while replies < batch:
                for event in self.conn.receive_data(self.sock.recv(1 << 20)):
                    if isinstance(event, h2.events.DataReceived):
                        self.pending += event.data
                        self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        raise RuntimeError("the server ended the heartbeat stream")
                self.sock.sendall(self.conn.data_to_send())
                # Whole gRPC messages: a 5-byte prefix (flags, length), then the message.
                while len(self.pending) >= 5 and len(self.pending) >= 5 + int.from_bytes(self.pending[1:5], "big"):
                    self.pending = self.pending[5 + int.from_bytes(self.pending[1:5], "big"):]
                    replies += 1
            done += batch


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--heartbeats", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    m = grpc_stubs.load().messages

    # One service, registered over frames.
    host, port = args.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        body = m.Frame(call_id=1, register_service_request=m.RegisterServiceRequest(service_name="bench", service_type=1)).SerializeToString()
        sock.sendall(varint(len(body)) + body)
        reply = b""
        while True:
            reply += sock.recv(65536)
            length, start = read_varint(reply, 0)
            if length is not None and len(reply) >= start + length:
                break
        service_id = m.Frame.FromString(reply[start:start + length]).register_service_response.handle.service_id

    clients = {"frames": Framed(args.address, m, service_id), "grpc": GRPC(args.address, m, service_id)}
    for client in clients.values():
        client.round(BATCH)  # warm-up
    cpu = {name: [] for name in clients}
    for _ in range(args.rounds):
        for name, client in clients.items():
            before = server_cpu_s(args.pid)
            client.round(args.heartbeats)
            cpu[name].append((server_cpu_s(args.pid) - before) / args.heartbeats * 1e6)
    frames_us, grpc_us = statistics.median(cpu["frames"]), statistics.median(cpu["grpc"])
    print(f"RESULT grpc_hb.frames_cpu_us_per_hb {frames_us:.2f}")
    print(f"RESULT grpc_hb.grpc_cpu_us_per_hb {grpc_us:.2f}")
    print(f"RESULT grpc_hb.ratio {grpc_us / frames_us:.2f}" if frames_us > 0 else "RESULT grpc_hb.ratio n/a")
    print(f"RESULT grpc_hb.heartbeats {args.heartbeats}")
    print("RESULT grpc_hb.rounds " + ",".join(f"{f:.2f}/{g:.2f}" for f, g in zip(cpu["frames"], cpu["grpc"])))


if __name__ == "__main__":
    main()
