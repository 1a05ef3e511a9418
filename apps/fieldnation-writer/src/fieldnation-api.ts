/**
 * The part of the Field Nation client the writer uses (satisfied by libs/fieldnation's client).
 * Declared here so the processors state exactly what they depend on.
 */
export interface FieldNationApi {
  createWorkOrder(payload: Record<string, unknown>): Promise<{ id: number }>;
  updateWorkOrder(id: number, partial: Record<string, unknown>): Promise<unknown>;
  findWorkOrders(query: { customField?: { id: number; value: string }; incidentId?: string }): Promise<{ id: number }[]>;
  publishWorkOrder(id: number): Promise<unknown>;
  routeWorkOrder(id: number, to: { providerId: number }): Promise<unknown>;
  postMessage(id: number, message: { message: string }): Promise<{ id: number }>;
  listMessages(id: number): Promise<{ id: number; message?: string; text?: string }[]>;
}

/** How libs/fieldnation reports a failed call. */
export interface FieldNationFailure {
  status?: number;
  retryable?: boolean;
  retryAfterMs?: number;
  message: string;
}

export function asFieldNationFailure(err: unknown): FieldNationFailure | undefined {
  if (err && typeof err === 'object' && 'retryable' in err) return err as FieldNationFailure;
  return undefined;
}
