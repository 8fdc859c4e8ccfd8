// What the interaction controllers may do to the viewer, and the two moves more than one of them makes: stepping a
// slice view's slice (wheel, keys) and zooming a slice view about a point (ctrl+wheel, +/- keys).

import type { ViewerLayout } from '../../../src/shared/protocol';
import type { ViewerDom, ViewName } from '../dom';
import { SliceView, zoomAt } from '../geometry';
import type { ViewerModel } from '../state';

export interface InteractionHost {
  readonly model: ViewerModel;
  readonly dom: ViewerDom;
  invalidate(view?: ViewName): void;
  /** The crosshair changed: readout, slice views and the crosshair/state events follow. */
  crosshairMoved(): void;
  updateReadout(): void;
  setWindow(center: number, width: number): void;
  setLayout(layout: ViewerLayout): void;
}

/** Moves a slice view `delta` slices along its normal, within the volume. */
export function stepSlice(host: InteractionHost, view: SliceView, delta: number): void {
  const model = host.model;
  const volume = model.vol;
  if (!volume) return;
  const n = model.axes[view].n;
  const next = Math.min(volume.frame.dims[n] - 1, Math.max(0, model.crosshair[n] + delta));
  if (next === model.crosshair[n]) return;
  model.followLoading = false;
  model.crosshair = [...model.crosshair];
  model.crosshair[n] = next;
  if (model.cursor) model.cursor.display[n] = next;
  host.crosshairMoved();
}

/** Zooms a slice view by `factor` about the point (x, y) in CSS pixels of its canvas. */
export function zoomView(host: InteractionHost, view: SliceView, factor: number, x?: number, y?: number): void {
  const model = host.model;
  const port = model.portOf(view);
  if (!port || !model.vol) return;
  model.ports[view] = zoomAt(model.vol.frame, model.axes[view], port, factor, x ?? port.width / 2, y ?? port.height / 2);
  host.invalidate(view);
}

/** A mouse event's position in CSS pixels of a view's canvas. */
export function localPoint(dom: ViewerDom, view: ViewName, event: MouseEvent): [number, number] {
  const rect = dom.views[view].canvas.getBoundingClientRect();
  return [event.clientX - rect.left, event.clientY - rect.top];
}
