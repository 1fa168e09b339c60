/** The `desc` marker that names a window's export task, so that a crash between create and store loses nothing. */
import { isoZ } from './windows.js';

/**
 * The `desc` marker of a window's export task (DESIGN §2): unique across warehouses, because it
 * carries the warehouse's identity besides the chain, the row id and the bounds.
 */
export function taskMarker(warehouseId: string, chainId: number, syncRunId: number, start: Date | null, end: Date | null): string {
  return `spaaza-sync ${warehouseId} ${chainId}/${syncRunId} ${start ? isoZ(start) : '*'}..${end ? isoZ(end) : '*'}`;
}

/** Whether a stored marker names this warehouse (markers of older versions do not). */
export function isMarkerOf(marker: string, warehouseId: string): boolean {
  return marker.startsWith(`spaaza-sync ${warehouseId} `);
}
