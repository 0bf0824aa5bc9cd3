/**
 * `history`: an image's build steps from its config's history entries, newest first, as Docker
 * (with the containerd image store) lists them: each step that made a layer has that layer's size,
 * the others 0; the newest row carries the image's id and tags, older ones `<missing>` (their
 * intermediate images do not exist as such).
 */
import { internal } from '../core/errors';

export interface HistoryEntryJson {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface HistoryRow {
  id: string;
  created?: Date;
  createdBy: string;
  tags: string[];
  /** Bytes of the layer this step made (0 for a step without one). */
  size: number;
  comment: string;
}

export const MISSING = '<missing>';

/** `layerSizes` are the sizes of the image's layers, in rootfs order. */
export function historyRows(history: readonly HistoryEntryJson[], imageId: string, layerSizes: readonly number[], tags: readonly string[]): HistoryRow[] {
  const sizes = [...layerSizes];
  const rows: HistoryRow[] = [];
  for (const h of history) {
    let size = 0;
    if (!h.empty_layer) {
      if (!sizes.length) throw internal(`image ${imageId}: its history names more layers than it has (unable to find the size of the layer)`);
      size = sizes.shift()!;
    }
    const created = h.created ? new Date(h.created) : undefined;
    rows.unshift({
      id: MISSING,
      ...(created && !Number.isNaN(created.getTime()) ? { created } : {}),
      createdBy: h.created_by ?? '',
      tags: [],
      size,
      comment: h.comment ?? '',
    });
  }
  if (rows.length) rows[0] = { ...rows[0]!, id: imageId, tags: [...tags] };
  return rows;
}
