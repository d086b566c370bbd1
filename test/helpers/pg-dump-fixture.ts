import { deflateSync } from 'node:zlib';

/**
 * A small custom-format archive written the way pg_dump writes one (format
 * 1.16, 4-byte ints, 8-byte offsets, gzip), so the reader is tested on bytes
 * whose every field is known. The container tests read real z4j dumps.
 */
export interface Table {
  name: string;
  columns: string[];
  rows: string[][];
}

function int(n: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = n < 0 ? 1 : 0;
  b.writeUInt32LE(Math.abs(n), 1);
  return b;
}
function str(s: string | null): Buffer {
  if (s === null) return int(-1);
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([int(b.length), b]);
}
function offset(flag: number, pos: number): Buffer {
  const b = Buffer.alloc(9);
  b[0] = flag;
  b.writeBigUInt64LE(BigInt(pos), 1);
  return b;
}

export function makeDump(opts: { server?: string; tables: Table[]; omitData?: string[] }): Buffer {
  const server = opts.server ?? '17.11 (Debian 17.11-0+deb13u1)';
  const header = Buffer.concat([
    Buffer.from('PGDMP', 'latin1'),
    Buffer.from([1, 16, 0, 4, 8, 1, 1]), // version 1.16.0, int 4, offset 8, custom, gzip
    ...[5, 4, 3, 22, 10, 126, 0].map(int), // 2026-11-22 03:04:05
    str('z4j'),
    str(server),
    str(server),
  ]);
  const withData = opts.tables.filter((t) => !opts.omitData?.includes(t.name));
  const blocks = withData.map((t, i) => {
    const text = `${t.rows.map((r) => r.join('\t')).join('\n')}${t.rows.length ? '\n' : ''}\\.\n\n\n`;
    const z = deflateSync(Buffer.from(text, 'utf8'));
    const chunks = [z.subarray(0, 7), z.subarray(7)].filter((c) => c.length > 0);
    return Buffer.concat([Buffer.from([1]), int(100 + i), ...chunks.flatMap((c) => [int(c.length), c]), int(0)]);
  });
  const toc = (positions: number[]) =>
    Buffer.concat([
      int(opts.tables.length + withData.length),
      ...opts.tables.map((t, i) => entry(10 + i, t.name, 'TABLE', null, offset(3, 0))),
      ...withData.map((t, i) => entry(100 + i, t.name, 'TABLE DATA', `COPY public.${t.name} (${t.columns.join(', ')}) FROM stdin;\n`, offset(2, positions[i] ?? 0))),
    ]);
  const tocLength = toc([]).length;
  const positions: number[] = [];
  let at = header.length + tocLength;
  for (const b of blocks) {
    positions.push(at);
    at += b.length;
  }
  return Buffer.concat([header, toc(positions), ...blocks]);
}

function entry(dumpId: number, tag: string, desc: string, copy: string | null, off: Buffer): Buffer {
  return Buffer.concat([
    int(dumpId),
    int(desc === 'TABLE DATA' ? 1 : 0),
    str('0'),
    str('0'),
    str(tag),
    str(desc),
    int(desc === 'TABLE DATA' ? 3 : 2), // section
    str(''),
    str(''),
    str(copy),
    str('public'),
    str(''),
    str('heap'),
    int(114), // relkind 'r'
    str(''),
    str('false'),
    str('1'), // one dependency
    str(null),
    off,
  ]);
}

export const KEY_ID = 'ab'.repeat(32);
export const z4jTables = (auditRows: number): Table[] => [
  ...['users', 'projects', 'agents', 'tasks', 'sessions', 'alembic_version'].map((name) => ({ name, columns: ['id'], rows: [['1'], ['2']] })),
  { name: 'audit_log', columns: ['id', 'metadata'], rows: Array.from({ length: auditRows }, (_, i) => [String(i), '{"a": "x\\ty"}']) },
  { name: 'audit_chain_state', columns: ['singleton_id', 'generation', 'state_key_id'], rows: [['audit-chain', 'g', KEY_ID]] },
];

