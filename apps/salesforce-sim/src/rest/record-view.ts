import { SfError } from '../core/sf-error';
import { toRestValue } from '../core/values';
import type { ObjectModel, RecordData } from '../org/org-model';
import type { OrgStore } from '../org/org-store';

/** A record as REST returns it: `attributes` first, then the fields (all, or those asked for). */
export function recordView(
  store: OrgStore,
  o: ObjectModel,
  record: RecordData,
  version: string,
  fields?: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    attributes: { type: o.name, url: `/services/data/v${version}/sobjects/${o.name}/${String(record.Id)}` },
  };
  const chosen = fields?.length
    ? fields.map((name) => {
        const f = o.field(name.trim());
        if (!f)
          throw new SfError(
            400,
            'INVALID_FIELD',
            `No such column '${name.trim()}' on entity '${o.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
          );
        return f;
      })
    : o.fields;
  for (const f of chosen) out[f.name] = toRestValue(f, store.value(o, record, f));
  if (fields?.length && !('Id' in out)) out.Id = record.Id;
  return out;
}
