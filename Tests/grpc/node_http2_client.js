// A gRPC client on Node's built-in node:http2 (the transport under grpc-js, which the seed
// runtime's TypeScript reporter uses), protobuf written by hand: RegisterService, then a Heartbeat
// stream of three beats read back, then the client's end. Prints what it saw as JSON.
//   node node_http2_client.js 127.0.0.1:PORT
'use strict';
const http2 = require('node:http2');

const address = process.argv[2];
const message = (payload) => {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
};
const field = (number, bytes) => Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
const messages = (buffer) => {
  const out = [];
  for (let at = 0; at + 5 <= buffer.length;) {
    const length = buffer.readUInt32BE(at + 1);
    out.push(buffer.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
};
const call = (session, method, requests, endAfter) => new Promise((resolve, reject) => {
  const stream = session.request({
    ':method': 'POST', ':path': `/runtime.v1.TopologyService/${method}`,
    'content-type': 'application/grpc', te: 'trailers',
  });
  const chunks = [];
  let headers = {};
  stream.on('response', (h) => { headers = h; });
  stream.on('data', (chunk) => chunks.push(chunk));
  stream.on('trailers', (trailers) => { headers = { ...headers, ...trailers }; });
  stream.on('end', () => resolve({ status: headers['grpc-status'], message: headers['grpc-message'], replies: messages(Buffer.concat(chunks)) }));
  stream.on('error', reject);
  for (const request of requests) stream.write(message(request));
  if (endAfter) stream.end();
  else setTimeout(() => stream.end(), 200);
});

(async () => {
  const session = http2.connect(`http://${address}`);
  session.on('error', (error) => { console.log(JSON.stringify({ error: String(error) })); process.exit(1); });
  // RegisterServiceRequest: service_name (1) "node-service", service_type (2) SERVER (1).
  const registered = await call(session, 'RegisterService', [Buffer.concat([field(1, Buffer.from('node-service')), Buffer.from([0x10, 0x01])])], true);
  // RegisterServiceResponse.handle (1) -> ServiceHandle.service_id (1).
  const handle = registered.replies[0].subarray(2);
  const serviceId = handle.subarray(2, 2 + handle[1]).toString();
  const beats = [1, 2, 3].map((sequence) => Buffer.concat([field(1, Buffer.from(serviceId)), Buffer.from([0x10, sequence])]));
  const heartbeat = await call(session, 'Heartbeat', beats, false);
  // HeartbeatResponse: sequence (1, varint), acknowledged (2, varint).
  const acks = heartbeat.replies.map((reply) => ({ sequence: reply[1], acknowledged: reply[3] === 1 }));
  console.log(JSON.stringify({ registerStatus: registered.status, serviceId, heartbeatStatus: heartbeat.status, acks }));
  session.close();
})().catch((error) => { console.log(JSON.stringify({ error: String(error) })); process.exit(1); });
