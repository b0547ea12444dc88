// ${VAR} expansion for string values of the policy file, so that secrets stay in the environment.

export type Env = Record<string, string | undefined>;

/** One reference that could not be expanded; `offset` is its index in the string that was expanded. */
export interface EnvIssue {
  kind: 'missing' | 'malformed';
  /** The variable name (missing) or the offending text (malformed). */
  name: string;
  offset: number;
}

export interface Expansion {
  value: string;
  issues: EnvIssue[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands `${VAR}` and `${VAR:-default}` (default used when VAR is unset or empty, as in sh); `$${` stands for a
 * literal `${`. Any other `$` is kept as it is, so values like `pa$$word` need no escaping. Every problem in the
 * string is returned, not only the first.
 */
export function expandEnv(input: string, env: Env): Expansion {
  let value = '';
  const issues: EnvIssue[] = [];
  let i = 0;
  while (i < input.length) {
    const dollar = input.indexOf('$', i);
    if (dollar < 0) {
      value += input.slice(i);
      break;
    }
    value += input.slice(i, dollar);
    if (input.startsWith('$${', dollar)) {
      value += '${';
      i = dollar + 3;
      continue;
    }
    if (!input.startsWith('${', dollar)) {
      value += '$';
      i = dollar + 1;
      continue;
    }
    const close = input.indexOf('}', dollar + 2);
    if (close < 0) {
      issues.push({ kind: 'malformed', name: input.slice(dollar), offset: dollar });
      value += input.slice(dollar);
      break;
    }
    const body = input.slice(dollar + 2, close);
    const sep = body.indexOf(':-');
    const name = sep < 0 ? body : body.slice(0, sep);
    if (!NAME.test(name)) {
      issues.push({ kind: 'malformed', name: input.slice(dollar, close + 1), offset: dollar });
    } else {
      const found = env[name];
      if (sep >= 0 && (found === undefined || found === '')) value += body.slice(sep + 2);
      else if (found !== undefined) value += found;
      else issues.push({ kind: 'missing', name, offset: dollar });
    }
    i = close + 1;
  }
  return { value, issues };
}
