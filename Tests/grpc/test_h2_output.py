"""What the server writes on an HTTP/2 connection reaches a client that only reads: replies larger
than one batch of DATA (HTTP2Limits.outboundBatchSize, 128 KiB) go out whole although the client
sends nothing while it waits (its windows are open wide, so no WINDOW_UPDATE or PING of its own
wakes the server), as h2load's clients do."""

from __future__ import annotations

import socket

import h2.config
import h2.connection
import h2.events
import h2.settings


def test_replies_over_one_batch_reach_a_client_that_only_reads(server, client, stubs):
    m = stubs.messages
    # About 300 bytes per node: each GetTopology reply is some 180 KB, over one batch.
    futures = [client.RegisterService.future(m.RegisterServiceRequest(service_name=f"{i:04d}-" + "n" * 240, service_type=1), timeout=30)
               for i in range(600)]
    assert all(f.result().handle.service_id for f in futures)
    host, port = server.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 30})
        conn.increment_flow_control_window(1 << 30)
        request = m.GetTopologyRequest().SerializeToString()
        streams = []
        for _ in range(3):
            stream = conn.get_next_available_stream_id()
            streams.append(stream)
            conn.send_headers(stream, [(":method", "POST"), (":scheme", "http"), (":authority", server.address),
                                       (":path", "/runtime.v1.TopologyService/GetTopology"),
                                       ("content-type", "application/grpc"), ("te", "trailers")])
            conn.send_data(stream, b"\0" + len(request).to_bytes(4, "big") + request, end_stream=True)
        sock.sendall(conn.data_to_send())
        received = {stream: 0 for stream in streams}
        ended = set()
        while ended != set(streams):
            data = sock.recv(1 << 20)  # a stall is socket.timeout after 5 s
            assert data, "the server closed the connection"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    received[event.stream_id] += len(event.data)
                elif isinstance(event, h2.events.StreamEnded):
                    ended.add(event.stream_id)
            # Nothing is sent back: the windows are large enough for every reply.
    assert all(count > 150_000 for count in received.values()), received
