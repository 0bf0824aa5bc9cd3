import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { call, collect, rawClient, startProcess, testDirs } from '../helpers/daemon';
import { WriteSession } from './write-session';

const SVC = 'containerd.services.content.v1.Content';
const MiB = 1 << 20;
const CHUNKS = 100;
const KILL_AFTER = 40;

/** Deterministic 1 MiB chunk i. */
function chunk(i: number): Buffer {
  const b = Buffer.alloc(MiB, i % 251);
  b.writeUInt32BE(i, 0);
  return b;
}

function fullDigest(): string {
  const h = createHash('sha256');
  for (let i = 0; i < CHUNKS; i++) h.update(chunk(i));
  return `sha256:${h.digest('hex')}`;
}

async function listed(c: grpc.Client): Promise<Array<{ digest: string; size: string }>> {
  return (await collect(c, 'List', { filters: [] })).flatMap((m: any) => m.info);
}

describe('crash safety of ingests', () => {
  it('SIGKILL mid-ingest, restart, resume from Status.offset, commit the expected digest; List never shows a partial blob', async () => {
    const dirs = await testDirs('berth-crash-');
    const expected = fullDigest();
    const total = CHUNKS * MiB;
    const ref = 'crash-ref';
    let d = await startProcess(dirs);
    let c = rawClient(dirs.address, SVC);
    try {
      const s = new WriteSession(c);
      const st = await s.send({ action: 'STAT', ref, total, expected });
      expect(st.offset).toBe('0');
      let offset = 0;
      for (let i = 0; i < KILL_AFTER; i++) {
        const r = await s.send({ action: 'WRITE', ref, offset, data: chunk(i) });
        offset = Number(r.offset);
        if (i % 10 === 9) expect(await listed(c)).toEqual([]);
      }
      expect(offset).toBe(KILL_AFTER * MiB);
      // Keep writing without waiting, and crash in the middle of it.
      for (let i = KILL_AFTER; i < KILL_AFTER + 20; i++) s.stream.write({ action: 'WRITE', ref, offset: i * MiB, data: chunk(i) });
      await d.proc.kill();
      s.stream.on('error', () => undefined);
      c.close();

      d = await startProcess(dirs);
      c = rawClient(dirs.address, SVC);
      expect(await listed(c)).toEqual([]);
      const status = (await call(c, 'Status', { ref })).status;
      const resumeAt = Number(status.offset);
      expect(resumeAt).toBeGreaterThanOrEqual(KILL_AFTER * MiB);
      expect(resumeAt).toBeLessThan(total);
      expect(status.total).toBe(String(total));

      const r = new WriteSession(c);
      const st2 = await r.send({ action: 'STAT', ref, total, expected });
      expect(Number(st2.offset)).toBe(resumeAt);
      offset = resumeAt;
      // A SIGKILL can interrupt a write(2) between pages, so the offset need not be chunk-aligned.
      for (let i = Math.floor(resumeAt / MiB); i < CHUNKS; i++) {
        const data = i === Math.floor(resumeAt / MiB) ? chunk(i).subarray(resumeAt % MiB) : chunk(i);
        if (data.length === 0) continue;
        const w = await r.send({ action: 'WRITE', ref, offset, data });
        offset = Number(w.offset);
        if (i % 20 === 0) expect(await listed(c)).toEqual([]);
      }
      const cm = await r.send({ action: 'COMMIT', ref, offset, total, expected });
      expect(cm.digest).toBe(expected);
      await r.close();
      expect(await listed(c)).toEqual([expect.objectContaining({ digest: expected, size: String(total) })]);
      await expect(call(c, 'Status', { ref })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      c.close();
      await d.stop();
      await rm(dirs.dir, { recursive: true, force: true });
    }
  }, 120000);
});
