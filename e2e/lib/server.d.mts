// Types of the part of the harness (server.mjs) that the TypeScript tests (ts/) use.

export interface RunningServer {
  url: string;
  port: number;
  serverKey: string;
  jwtSecret: string;
  output(): string;
}

export function uid(prefix?: string): string;
export function startServer(options?: { args?: string[]; env?: Record<string, string>; jwtSecret?: boolean }): Promise<RunningServer>;
export function stopServer(options?: { closeSockets?: boolean }): Promise<unknown>;
export function server(): RunningServer;
export function token(
  userId: string,
  options?: { name?: string; expSec?: number; secret?: string; claims?: Record<string, unknown>; noExp?: boolean },
): string;
export function rest(
  method: string,
  path: string,
  options?: { token?: string; serverKey?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number },
): Promise<{ status: number; body: any; headers: Headers }>;
