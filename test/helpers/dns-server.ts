import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

/**
 * A tiny authoritative DNS server on loopback UDP: answers TXT questions from `records`, NXDOMAIN
 * for unknown names, SERVFAIL for names in `failing`. Enough for the service's real resolver.
 */
export interface TestDnsServer {
  /** `127.0.0.1:port`, for DNS_RESOLVERS. */
  address: string;
  records: Map<string, string[]>;
  failing: Set<string>;
  queries: string[];
  close(): Promise<void>;
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  while (msg[i]! > 0) {
    const len = msg[i]!;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += len + 1;
  }
  return { name: labels.join('.').toLowerCase(), end: i + 1 };
}

function txtRdata(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  // Character-strings hold at most 255 bytes; longer values are split as real zones do.
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
    if (bytes.length === 0) break;
  }
  return Buffer.concat(parts);
}

function answer(query: Buffer, server: TestDnsServer): Buffer {
  const { name, end } = readName(query, 12);
  const qtype = query.readUInt16BE(end);
  server.queries.push(name);
  const question = query.subarray(12, end + 4);
  const values = server.records.get(name);
  const rcode = server.failing.has(name) ? 2 : values ? 0 : 3;
  const answers = rcode === 0 && qtype === 16 ? values! : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const records = answers.map((v) => {
    const rdata = txtRdata(v);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
    rr.writeUInt16BE(16, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(0, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, question, ...records]);
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const socket = dgram.createSocket('udp4');
  const server: TestDnsServer = {
    address: '',
    records: new Map(),
    failing: new Set(),
    queries: [],
    close: () => new Promise((r) => socket.close(() => r())),
  };
  socket.on('message', (msg, rinfo) => {
    try {
      socket.send(answer(msg, server), rinfo.port, rinfo.address);
    } catch {
      // A malformed packet gets no answer, like a real server under garbage.
    }
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  server.address = `127.0.0.1:${(socket.address() as AddressInfo).port}`;
  return server;
}
