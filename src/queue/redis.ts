import { randomBytes } from 'node:crypto';
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

/** Compare-and-delete of a lock (KEYS[1], token ARGV[1]), so only its holder releases it. */
export const RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
/** Compare-and-extend of a lock (KEYS[1], token ARGV[1], ms ARGV[2]), so only its holder renews it. */
export const RENEW_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

/** What `withRedisLock` hands its critical section. */
export interface RedisLock {
  /**
   * Throws a QueueError unless the lock is still ours (it expired after a stall longer than its ttl,
   * or Redis lost it); when it is, extends it to a full ttl, so a write that follows at once is done
   * under the lock even if the renewal timer stalls. Call it just before the write the lock protects.
   */
  assertHeld(): Promise<void>;
}

export interface RedisLockOptions {
  /** Expiry of the key (default 30 s): a holder that dies without releasing frees it after this. */
  ttlMs?: number;
  /** Polling period while waiting (default 50 ms, with jitter). */
  pollMs?: number;
  /** Give up waiting after this long (default 2 x ttlMs, longer than a dead holder keeps it). */
  waitMs?: number;
  /** What the lock protects, for error messages (default: the key). */
  what?: string;
}

/**
 * Run `fn` while holding the Redis lock `key` (SET NX PX with a random token): waits, polling, until
 * the key is free, at most `waitMs`; renews it every ttlMs / 3 while `fn` runs (compare-and-extend:
 * a renewal that finds the key gone or someone else's marks the lock lost, and `lock.assertHeld()`
 * then throws), and releases it afterwards (only if still ours). For short critical sections shared
 * by workers on several machines (a read-modify-write of a file on the shared folder): `fn` calls
 * `lock.assertHeld()` before it writes. Errors: a QueueError naming `what` when the wait times out or
 * the lock was lost; fn's; Redis's.
 */
export async function withRedisLock<T>(redis: Redis, key: string, fn: (lock: RedisLock) => Promise<T>, opts: RedisLockOptions = {}): Promise<T> {
  const ttl = opts.ttlMs ?? 30_000;
  const poll = opts.pollMs ?? 50;
  const waitMs = opts.waitMs ?? 2 * ttl;
  const what = opts.what ?? `Redis key ${key}`;
  const token = `${process.pid}.${randomBytes(8).toString('hex')}`;
  const deadline = Date.now() + waitMs;
  while ((await redis.set(key, token, 'PX', ttl, 'NX')) !== 'OK') {
    if (Date.now() >= deadline) {
      throw new QueueError(`gave up after ${(waitMs / 1000).toFixed(1)} s waiting for the lock on ${what} (Redis key ${key}): other workers held it all that time; retry later`);
    }
    await new Promise((r) => setTimeout(r, Math.min(poll * (0.5 + Math.random()), Math.max(1, deadline - Date.now()))));
  }
  let lost = false;
  const extend = async () => (await redis.eval(RENEW_LOCK, 1, key, token, String(ttl))) === 1;
  const renew = setInterval(() => {
    extend().then(
      (ok) => (lost ||= !ok),
      () => {}, // a transient Redis error: the next renewal (or assertHeld) tells
    );
  }, ttl / 3);
  const lock: RedisLock = {
    async assertHeld() {
      if (lost || !(await extend())) {
        lost = true;
        throw new QueueError(`lost the lock on ${what} (Redis key ${key}) after a stall of over ${(ttl / 1000).toFixed(1)} s or a Redis restart; nothing was written, another worker may hold it now`);
      }
    },
  };
  try {
    return await fn(lock);
  } finally {
    clearInterval(renew);
    await redis.eval(RELEASE_LOCK, 1, key, token).catch(() => {});
  }
}
