import type { FilesConfig } from './config.schema';

/** The extension of a file name, lower case, without the dot ('' when none). */
export const fileExtension = (name: string): string => /\.([A-Za-z0-9]{1,20})$/.exec(name)?.[1]?.toLowerCase() ?? '';

const MIME_BY_EXTENSION: Record<string, string> = {
  pdf: 'application/pdf',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  txt: 'text/plain',
  csv: 'text/csv',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** The MIME type a file name suggests (application/octet-stream when unknown). */
export const mimeTypeOf = (name: string): string => MIME_BY_EXTENSION[fileExtension(name)] ?? 'application/octet-stream';

/**
 * Why a file must not be copied under the connection's `files` policy, or undefined when it may be:
 * its type (its name's extension or its declared MIME type must be allowed; `image/*` allows every
 * image) and its declared size. The size is checked again while the bytes stream (byteCap).
 */
export function fileRefusal(
  files: Pick<FilesConfig, 'allowedTypes' | 'maxBytes'>,
  file: { name: string; mime?: string; size?: number },
): string | undefined {
  const ext = fileExtension(file.name);
  const mime = (file.mime ?? '').toLowerCase().split(';')[0]!.trim();
  const allowed = files.allowedTypes.some((t) =>
    t.includes('/') ? (t.endsWith('/*') ? mime.startsWith(t.slice(0, -1)) : mime === t) : ext !== '' && ext === t,
  );
  if (!allowed)
    return `type not allowed (${ext ? `.${ext}` : 'no extension'}${mime ? `, ${mime}` : ''}); allowed: ${files.allowedTypes.join(', ')}`;
  if (file.size !== undefined && file.size > files.maxBytes) return `too large (${file.size} bytes; the cap is ${files.maxBytes})`;
  return undefined;
}
