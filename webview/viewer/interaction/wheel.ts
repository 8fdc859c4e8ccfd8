// The wheel over a slice view steps its slice; with ctrl (or cmd, and a trackpad's pinch) it zooms about the
// pointer.

import type { SliceView } from '../geometry';
import { InteractionHost, localPoint, stepSlice, zoomView } from './navigation';

/** Pixel-mode wheels (trackpads) step one slice per this many pixels of scrolling. */
const PIXELS_PER_SLICE = 50;

export type WheelInput = Pick<WheelEvent, 'deltaY' | 'deltaMode' | 'ctrlKey' | 'metaKey'>;

/**
 * What a wheel event does (decided apart from the DOM): zoom by a factor, or step slices, one call per step (+1 is
 * towards the scroll's "up"), with the pixels left over for the next event.
 */
export function wheelAction(event: WheelInput, accumulated: number): { zoom: number } | { steps: number[]; accumulated: number } {
  if (event.ctrlKey || event.metaKey) return { zoom: Math.exp(-event.deltaY * 0.002) };
  // Line-mode wheels step one slice per notch; pixel-mode trackpads step once per PIXELS_PER_SLICE.
  if (event.deltaMode === 1) return { steps: [event.deltaY < 0 ? 1 : -1], accumulated };
  const steps: number[] = [];
  accumulated += event.deltaY;
  while (Math.abs(accumulated) >= PIXELS_PER_SLICE) {
    steps.push(accumulated < 0 ? 1 : -1);
    accumulated -= Math.sign(accumulated) * PIXELS_PER_SLICE;
  }
  return { steps, accumulated };
}

export class WheelController {
  private accumulated = 0;

  constructor(private readonly host: InteractionHost) {}

  attach(view: SliceView): void {
    this.host.dom.views[view].canvas.addEventListener('wheel', (event) => this.wheel(view, event), { passive: false });
  }

  private wheel(view: SliceView, event: WheelEvent): void {
    event.preventDefault();
    const model = this.host.model;
    if (!model.vol || !model.portOf(view)) return;
    const action = wheelAction(event, this.accumulated);
    if ('zoom' in action) {
      const [x, y] = localPoint(this.host.dom, view, event);
      zoomView(this.host, view, action.zoom, x, y);
      return;
    }
    this.accumulated = action.accumulated;
    for (const delta of action.steps) stepSlice(this.host, view, delta);
  }
}
