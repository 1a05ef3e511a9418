import { describe, expect, it } from 'vitest';
import { filesSchema } from './config.schema';
import { fileRefusal } from './files-policy';

describe('files policy', () => {
  const files = filesSchema.parse({ toSalesforce: true, maxBytes: 1000, allowedTypes: ['PDF', '.png', 'image/*', 'text/csv'] });

  it('normalises the allow-list and defaults', () => {
    expect(files.allowedTypes).toEqual(['pdf', 'png', 'image/*', 'text/csv']);
    expect(filesSchema.parse({})).toMatchObject({ toSalesforce: false, maxBytes: 100 * 1024 * 1024 });
    expect(filesSchema.parse({ toFieldNation: {} }).toFieldNation).toEqual({
      folder: 'Salesforce files',
      pollEvery: '*/5 * * * *',
      lookBackHours: 24,
    });
  });

  it('allows by extension or MIME type, and refuses the rest with a reason', () => {
    expect(fileRefusal(files, { name: 'a.PDF', size: 10 })).toBeUndefined();
    expect(fileRefusal(files, { name: 'photo', mime: 'image/heic' })).toBeUndefined();
    expect(fileRefusal(files, { name: 'x.dat', mime: 'text/csv; charset=utf-8' })).toBeUndefined();
    expect(fileRefusal(files, { name: 'setup.exe', mime: 'application/x-msdownload' })).toBe(
      'type not allowed (.exe, application/x-msdownload); allowed: pdf, png, image/*, text/csv',
    );
    expect(fileRefusal(files, { name: 'noext' })).toMatch(/^type not allowed \(no extension\)/);
    expect(fileRefusal(files, { name: 'big.pdf', size: 1001 })).toBe('too large (1001 bytes; the cap is 1000)');
  });

  it('refuses bad settings', () => {
    expect(() => filesSchema.parse({ maxBytes: 3 * 1024 ** 3 })).toThrow(/2 GB/);
    expect(() => filesSchema.parse({ allowedTypes: ['../etc'] })).toThrow(/extension/);
    expect(() => filesSchema.parse({ allowedTypes: [] })).toThrow();
    expect(() => filesSchema.parse({ toSalesforce: true, surprise: 1 })).toThrow();
  });
});
