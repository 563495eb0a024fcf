// A minimal Socket Mode endpoint (RFC 6455, text frames only): greets with `hello`, sends
// envelopes, and collects the app's acks. Enough to drive Bolt's SocketModeReceiver for real.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export interface FakeSocketMode {
  url: string;
  /** Resolves once a client has connected and been greeted. */
  connected: Promise<void>;
  /** Sends an envelope and resolves with the app's ack payload for it. */
  send(type: string, payload: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startFakeSocketMode(): Promise<FakeSocketMode> {
  const sockets = new Set<Duplex>();
  const acks = new Map<string, (payload: Record<string, unknown>) => void>();
  let onConnect!: () => void;
  const connected = new Promise<void>((resolve) => {
    onConnect = resolve;
  });
  let current: Duplex | undefined;

  const server = http.createServer((_req, res) => {
    res.writeHead(426);
    res.end();
  });
  server.on('upgrade', (req, socket) => {
    const key = String(req.headers['sec-websocket-key']);
    const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const frame = readFrame(buffer);
        if (!frame) break;
        buffer = buffer.subarray(frame.length);
        if (frame.opcode === 0x9)
          socket.write(encodeFrame(frame.data, 0xa)); // ping → pong
        else if (frame.opcode === 0x8)
          socket.end(encodeFrame(frame.data, 0x8)); // close handshake: echo, then end
        else if (frame.opcode === 0x1) {
          const message = JSON.parse(frame.data.toString('utf8')) as { envelope_id?: string; payload?: Record<string, unknown> };
          if (message.envelope_id) acks.get(message.envelope_id)?.(message.payload ?? {});
        }
      }
    });
    current = socket;
    socket.write(
      encodeFrame(Buffer.from(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0APP' } })), 0x1),
    );
    onConnect();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `ws://127.0.0.1:${port}/link`,
    connected,
    send(type, payload, timeoutMs = 5000) {
      if (!current) return Promise.reject(new Error('fake socket mode: no client connected'));
      const envelopeId = crypto.randomUUID();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          acks.delete(envelopeId);
          reject(new Error(`fake socket mode: no ack for ${type} within ${timeoutMs} ms`));
        }, timeoutMs);
        acks.set(envelopeId, (ack) => {
          clearTimeout(timer);
          acks.delete(envelopeId);
          resolve(ack);
        });
        current!.write(
          encodeFrame(Buffer.from(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: true })), 0x1),
        );
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function encodeFrame(data: Buffer, opcode: number): Buffer {
  const length = data.length;
  const header =
    length < 126
      ? Buffer.from([0x80 | opcode, length])
      : length < 65536
        ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 255])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLength(length)]);
  return Buffer.concat([header, data]);
}

function bigLength(length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(length));
  return b;
}

/** One complete frame from the client (always masked), or undefined if more bytes are needed. */
function readFrame(buffer: Buffer): { opcode: number; data: Buffer; length: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskLength = masked ? 4 : 0;
  if (buffer.length < offset + maskLength + length) return undefined;
  const mask = masked ? buffer.subarray(offset, offset + 4) : undefined;
  const data = Buffer.from(buffer.subarray(offset + maskLength, offset + maskLength + length));
  if (mask) for (let i = 0; i < data.length; i++) data[i] = data[i]! ^ mask[i % 4]!;
  return { opcode, data, length: offset + maskLength + length };
}
