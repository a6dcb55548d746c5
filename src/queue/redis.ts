import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueError, UsageError } from '../errors.js';
import { redactUrl } from './defaults.js';

/**
 * Connecting to the Redis that holds the queue. BullMQ opens its own connections from
 * `bullmqConnection(url)` (reconnecting forever: a worker outlives a Redis restart); `openRedis` is
 * for tesg's own keys and for the first check, which fails fast with one line instead of retrying
 * silently when the URL is wrong or Redis is down.
 */

export function checkRedisUrl(url: string): string {
  if (!/^rediss?:\/\/[^/]/.test(url)) throw new UsageError(`--redis must be a redis:// or rediss:// URL such as redis://host:6379, got '${url}'`);
  return url;
}

/** Connection options for BullMQ's Queue and Worker (maxRetriesPerRequest null, as BullMQ requires for workers). */
export function bullmqConnection(url: string): { url: string; maxRetriesPerRequest: null } {
  return { url: checkRedisUrl(url), maxRetriesPerRequest: null };
}

/**
 * A connected ioredis client. failFast (default): no reconnection, 5 s to connect, and a QueueError
 * naming the URL when Redis cannot be reached. Otherwise the client reconnects forever (workers).
 */
export async function openRedis(url: string, opts: { failFast?: boolean } = {}): Promise<Redis> {
  const failFast = opts.failFast ?? true;
  const client = new Redis(checkRedisUrl(url), {
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: failFast ? 1 : null,
    ...(failFast ? { retryStrategy: () => null } : {}),
  });
  // Errors surface through the awaited commands; without a listener ioredis also prints each one.
  // The socket's own error (ECONNREFUSED, ENOTFOUND) says more than the "Connection is closed" that follows.
  let socketError: string | undefined;
  client.on('error', (err: Error) => (socketError ??= err.message));
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    throw new QueueError(`cannot reach Redis at ${redactUrl(url)} (${socketError ?? (err as Error).message}); start redis-server there or pass --redis URL`);
  }
  return client;
}

/** Redis hash of the queue's finished outputs: output path -> pairHash of what was written there. */
export function fusedKey(queue: string): string {
  return `tesg:${queue}:fused`;
}

/** A BullMQ Queue handle on `queue` (close it after use). */
export function openQueue(url: string, queue: string): Queue {
  return new Queue(queue, { connection: bullmqConnection(url) });
}
