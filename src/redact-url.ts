// A connection URL fit for messages, logs and /healthz: its password replaced by ***.

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
