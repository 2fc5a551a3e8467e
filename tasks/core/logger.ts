/** The small logging interface core functions take. Adapters map it to task-lib, the CLI to stderr. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

/** Collects messages; used by tests and to build summaries. */
export class MemoryLogger implements Logger {
  readonly lines: { level: 'debug' | 'info' | 'warn'; message: string }[] = [];
  debug(message: string): void { this.lines.push({ level: 'debug', message }); }
  info(message: string): void { this.lines.push({ level: 'info', message }); }
  warn(message: string): void { this.lines.push({ level: 'warn', message }); }
  get warnings(): string[] { return this.lines.filter((l) => l.level === 'warn').map((l) => l.message); }
}
