/** One entry of a Salesforce REST error body: `[{message, errorCode, fields}]`. */
export interface SfErrorEntry {
  message: string;
  errorCode: string;
  fields?: string[];
}

/**
 * An error that the REST layer turns into Salesforce's JSON error array. Domain code throws it; the
 * HTTP adapter never has to guess a status from a message.
 */
export class SfError extends Error {
  readonly status: number;
  readonly errorCode: string;
  readonly fields: string[];

  /** Whether the REST body carries `fields` (record errors do; session and query errors do not). */
  private readonly withFields: boolean;

  constructor(status: number, errorCode: string, message: string, fields?: string[]) {
    super(message);
    this.name = 'SfError';
    this.status = status;
    this.errorCode = errorCode;
    this.fields = fields ?? [];
    this.withFields = fields !== undefined;
  }

  toBody(): SfErrorEntry[] {
    return [{ message: this.message, errorCode: this.errorCode, ...(this.withFields ? { fields: this.fields } : {}) }];
  }
}

export const notFound = (): SfError => new SfError(404, 'NOT_FOUND', 'The requested resource does not exist');

export const invalidSession = (): SfError => new SfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');

export const malformedQuery = (message: string): SfError => new SfError(400, 'MALFORMED_QUERY', message);
