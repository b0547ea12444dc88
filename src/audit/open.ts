// Opens the AuditSink named by `gateway.audit`; each driver (and its database library) loads only when configured.
import type { AuditSettings } from '../config/audit-schema.js';
import { ErrorCode, GatewayError } from '../errors.js';
import { pathOfFileUrl } from '../state/open.js';
import type { AuditSink } from './sink.js';

const FORMS = 'sqlite:PATH (e.g. sqlite:.policylayer/audit.db), postgres://user@host:5432/db, jsonl:PATH, stdout or off';

/** The sink for `url`, or undefined for `off`. */
export async function openAuditSink(url: string, settings: AuditSettings): Promise<AuditSink | undefined> {
  if (url === 'off') return undefined;
  if (url === 'stdout') {
    const { createStdoutSink } = await import('./stdout-sink.js');
    return createStdoutSink();
  }
  if (url.startsWith('sqlite:')) {
    const { createSqliteSink } = await import('./sqlite-sink.js');
    return createSqliteSink(filePath(url, 'sqlite:'));
  }
  if (url.startsWith('jsonl:')) {
    const { createJsonlSink } = await import('./jsonl-sink.js');
    return createJsonlSink(filePath(url, 'jsonl:'), { maxBytes: settings.jsonl.max_bytes, keep: settings.jsonl.keep });
  }
  if (/^postgres(ql)?:\/\/./.test(url)) {
    const { createPostgresSink } = await import('./postgres-sink.js');
    return createPostgresSink(url, { table: settings.postgres_table });
  }
  throw new GatewayError(ErrorCode.CONFIG_INVALID, `gateway.audit "${url}" is not an audit log URL; use ${FORMS}`);
}

const filePath = (url: string, scheme: string): string => pathOfFileUrl(url, scheme, 'gateway.audit', FORMS);
