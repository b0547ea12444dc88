// Incremental text/event-stream parser and writer (WHATWG server-sent events), for both directions.
import { StringDecoder } from 'node:string_decoder';

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export function createSseParser(onEvent: (e: SseEvent) => void): { push(chunk: Buffer | string): void; end(): void } {
  const decoder = new StringDecoder('utf8');
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;

  const line = (l: string): void => {
    if (l === '') {
      if (data.length > 0) onEvent(id === undefined ? { event: event || 'message', data: data.join('\n') } : { event: event || 'message', data: data.join('\n'), id });
      event = '';
      data = [];
      return;
    }
    if (l.startsWith(':')) return;
    const colon = l.indexOf(':');
    const field = colon === -1 ? l : l.slice(0, colon);
    let value = colon === -1 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) id = value;
  };

  return {
    push(chunk) {
      buffer += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        line(buffer.slice(start, i));
        if (c === 13 && buffer.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
      }
      buffer = buffer.slice(start);
    },
    end() {
      buffer += decoder.end();
      if (buffer) line(buffer);
      line('');
    },
  };
}

/** One SSE event carrying a JSON-RPC message; `data` lines may not contain raw newlines. */
export function sseEvent(data: string, eventId?: string, event = 'message'): string {
  const body = data.includes('\n') ? data.split('\n').join('\ndata: ') : data;
  return `${eventId === undefined ? '' : `id: ${eventId}\n`}event: ${event}\ndata: ${body}\n\n`;
}
