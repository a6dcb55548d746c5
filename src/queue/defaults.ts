/** Queue defaults and small helpers with no Redis import, so `tesg --help` does not load BullMQ. */
export const DEFAULT_QUEUE = 'tesg';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** Tries per job before it goes to the failed set. */
export const DEFAULT_ATTEMPTS = 3;
/** First retry delay (ms), doubled for each next try. */
export const DEFAULT_BACKOFF_MS = 1000;

/** The URL with any password replaced by ***, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_m, auth: string) => `//${auth.includes(':') ? auth.replace(/:.*/, ':***') : '***'}@`);
}
