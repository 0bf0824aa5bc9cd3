import { createLogger, type Logger, type LogLevel } from '../logger';

/** A logger that writes its JSON lines to stderr (berthd's log). */
export function stderrLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}): Logger {
  return createLogger(level, base, (l) => process.stderr.write(l + '\n'));
}
