// The wheel over a slice view steps its slice; with ctrl (or cmd, and a trackpad's pinch) it zooms about the
// pointer.

import type { SliceView } from '../geometry';
import { InteractionHost, localPoint, stepSlice, zoomView } from './navigation';

/** Pixel-mode wheels (trackpads) step one slice per this many pixels of scrolling. */
const PIXELS_PER_SLICE = 50;

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
    if (event.ctrlKey || event.metaKey) {
      const [x, y] = localPoint(this.host.dom, view, event);
      zoomView(this.host, view, Math.exp(-event.deltaY * 0.002), x, y);
      return;
    }
    // Line-mode wheels step one slice per notch; pixel-mode trackpads step once per PIXELS_PER_SLICE.
    if (event.deltaMode === 1) stepSlice(this.host, view, event.deltaY < 0 ? 1 : -1);
    else {
      this.accumulated += event.deltaY;
      while (Math.abs(this.accumulated) >= PIXELS_PER_SLICE) {
        stepSlice(this.host, view, this.accumulated < 0 ? 1 : -1);
        this.accumulated -= Math.sign(this.accumulated) * PIXELS_PER_SLICE;
      }
    }
  }
}
