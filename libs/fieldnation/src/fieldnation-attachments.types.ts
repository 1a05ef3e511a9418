/**
 * Attachments as rest-v2.yaml describes them (AttachmentsDto → AttachmentFolderDto → AttachmentDto →
 * FileDto): only the fields the broker reads, all optional as the definition leaves them.
 */
export interface FnAttachment {
  id?: number;
  folder_id?: number;
  author?: { id?: number; first_name?: string; last_name?: string };
  /** `link` is the download URL ("File download link"); it may be pre-signed: never stored or queued. */
  file?: { name?: string; mime?: string; size_bytes?: number; link?: string; type?: string };
  notes?: string;
  created?: { utc?: string };
}

export interface FnAttachmentFolder {
  id?: number;
  name?: string;
  type?: string;
  max_bytes?: number;
  results?: FnAttachment[];
}
