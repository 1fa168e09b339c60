/**
 * The `huge_body` fault: a 200 JSON answer of exactly the requested size, the start of a plausible
 * task object whose `desc` is padded out to fill it. It is streamed from one shared padding
 * buffer, so the simulator never holds the body: a client must cap what it reads, not the server.
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Plain words: no quote or backslash, so the padded string stays valid JSON. */
const PADDING = Buffer.alloc(64 * 1024, 'Vouchers export for the loyalty programme ');

export interface HugeTask {
  readonly id: number;
  readonly chain: number;
  /** `YYYY-MM-DDTHH:MM:SSZ`, for the dates the object carries. */
  readonly now: string;
}

export async function sendHugeBody(res: ServerResponse, bytes: number, task: HugeTask): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': bytes });
  await pipeline(Readable.from(hugeBodyPieces(bytes, task)), res).catch(() => {}); // the client may hang up
}

/**
 * Exactly `bytes` bytes: the whole object when it fits (valid JSON), else its first `bytes`
 * bytes. Yields the same padding buffer again and again: nothing body-sized is allocated.
 */
export function* hugeBodyPieces(bytes: number, task: HugeTask): Generator<Buffer> {
  const head = Buffer.from(`{"id":${task.id},"chain":${task.chain},"desc":"`);
  const tail = Buffer.from(
    `","state":{"code":"DONE","last_run_date":"${task.now}","last_modified":"${task.now}","created_date":"${task.now}"},` +
      `"trigger":{"once":"${task.now}"},"target":{"action":"export","export_index":"vouchers","export_format":"csv"},` +
      `"logs":[],"debug":null,"version":3,"result":null}`,
  );
  if (bytes < head.length + tail.length) {
    if (bytes > 0) yield Buffer.concat([head, tail]).subarray(0, bytes);
    return;
  }
  yield head;
  for (let left = bytes - head.length - tail.length; left > 0; left -= PADDING.length) {
    yield left >= PADDING.length ? PADDING : PADDING.subarray(0, left);
  }
  yield tail;
}
