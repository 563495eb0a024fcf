// Defaults the schema gives, kept here (without zod) for what must know them without loading it
// (the CLI's ad-hoc diagnosis, src/cli/context.ts diagnoseSettingsFrom).

export const DEFAULT_TIMEOUTS = { connectMs: 500, commandMs: 1000 } as const;
export const DEFAULT_QUEUE_REDIS_URL = 'redis://127.0.0.1:6379';
