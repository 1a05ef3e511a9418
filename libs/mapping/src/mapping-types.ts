/** A record as jsforce returns it from SOQL: relationships nested, a null parent is `null`. */
export type SalesforceRecord = Record<string, unknown>;

/** A Field Nation REST v2 work-order create/update body. */
export type WorkOrderPayload = Record<string, unknown>;

/**
 * What the event rules read of a Field Nation webhook body (reference §8.4): the event's name and
 * params; everything else (`workorder`, `triggered_by_user`, …) is reached by the rules' paths.
 * Structural on purpose: the mapping depends on no other lib, and the full body schema is the
 * contracts' FieldNationWebhookBodySchema, whose bodies fit this type.
 */
export interface FieldNationWebhookBody {
  event: { name: string; params?: Record<string, unknown> };
  [key: string]: unknown;
}

export interface MappingIssue {
  /** Target path (or rule/field name) the problem belongs to. */
  target: string;
  message: string;
  /** The value that failed, when there was one (shown to the user, truncated). */
  input?: unknown;
  /** What to change to make it right (schema, read and name checks always say). */
  fix?: string;
}

/**
 * Raised by compile (invalid mapping) and by map (a record the mapping cannot turn into a payload).
 * Always permanent: retrying the same record with the same mapping fails the same way.
 */
export class MappingError extends Error {
  override readonly name = 'MappingError';
  constructor(
    readonly issues: MappingIssue[],
    readonly file?: string,
  ) {
    super(formatIssues(issues, file));
  }
}

export function formatIssue(issue: MappingIssue, file?: string): string {
  const where = file ? `${file}: ${issue.target}` : issue.target;
  const input = issue.input === undefined ? '' : ` (input: ${preview(issue.input)})`;
  return `${where}: ${issue.message}${input}${issue.fix ? ` — fix: ${issue.fix}` : ''}`;
}

function formatIssues(issues: MappingIssue[], file?: string): string {
  if (issues.length === 1) return formatIssue(issues[0]!, file);
  return `${issues.length} problems:\n${issues.map((i) => `  - ${formatIssue(i, file)}`).join('\n')}`;
}

/** Short, single-line rendering of an input value for error messages. */
export function preview(value: unknown, max = 200): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Thrown inside a transform or source; the compiler turns it into a MappingIssue for its entry. */
export class EntryFailure extends Error {
  constructor(
    message: string,
    readonly input?: unknown,
  ) {
    super(message);
  }
}
