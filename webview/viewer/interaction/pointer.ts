// Pointer input on the views: left drag moves the crosshair, middle or shift drag pans, right drag windows; the
// pointer over a view makes it the active one (keys act on it) and its voxel the readout's; a double click toggles
// the single-view layout. The 3D view's drags belong to OrbitControls (orbit.ts).

import type { ViewName } from '../dom';
import { clampDisplayIndex, panBy, screenToDisplay, SliceView, ViewPort } from '../geometry';
import { dragWindow, WindowLevel } from '../windowing';
import { InteractionHost, localPoint } from './navigation';

export type DragMode = 'crosshair' | 'pan' | 'window';

/** Right drag windows, middle or shift drag pans, left drag moves the crosshair; other buttons do nothing. */
export function dragMode(button: number, shift: boolean): DragMode | null {
  if (button === 2) return 'window';
  if (button === 1 || shift) return 'pan';
  return button === 0 ? 'crosshair' : null;
}

interface Drag {
  view: SliceView;
  mode: DragMode;
  x: number;
  y: number;
  startWindow: WindowLevel;
  startPort: ViewPort;
  pointerId: number;
}

export class PointerController {
  private drag: Drag | null = null;

  constructor(private readonly host: InteractionHost) {}

  attach(name: ViewName): void {
    const { model, dom } = this.host;
    const { root, canvas } = dom.views[name];
    root.addEventListener('pointerenter', () => {
      model.activeView = name;
      model.hovering = true;
    });
    root.addEventListener('pointerleave', () => (model.hovering = false));
    root.addEventListener('dblclick', () => {
      model.activeView = name;
      this.host.setLayout(model.layout === 'single' ? '1x3' : 'single');
    });
    root.addEventListener('contextmenu', (event) => event.preventDefault());
    if (name === '3d') return; // OrbitControls handles the 3D view's pointer and wheel input
    const view = name;
    canvas.addEventListener('pointerdown', (event) => this.down(view, event));
    canvas.addEventListener('pointermove', (event) => this.move(view, event));
    canvas.addEventListener('pointerup', (event) => this.up(event));
    canvas.addEventListener('pointercancel', (event) => this.up(event));
    canvas.addEventListener('pointerleave', () => {
      model.cursor = null;
      this.host.updateReadout();
    });
  }

  private down(view: SliceView, event: PointerEvent): void {
    const { model, dom } = this.host;
    const port = model.portOf(view);
    if (!port || !model.vol) return;
    model.activeView = view;
    dom.views[view].root.focus({ preventScroll: true });
    const mode = dragMode(event.button, event.shiftKey);
    if (!mode) return;
    event.preventDefault();
    const [x, y] = localPoint(dom, view, event);
    this.drag = { view, mode, x, y, startWindow: { ...model.win }, startPort: port, pointerId: event.pointerId };
    (event.target as Element).setPointerCapture?.(event.pointerId);
    if (mode === 'crosshair') this.moveCrosshairTo(view, x, y);
  }

  private move(view: SliceView, event: PointerEvent): void {
    const { model, dom } = this.host;
    const port = model.portOf(view);
    const volume = model.vol;
    if (!port || !volume) return;
    const [x, y] = localPoint(dom, view, event);
    const axes = model.axes[view];
    model.cursor = { view, display: screenToDisplay(volume.frame, axes, port, model.crosshair[axes.n], x, y) };
    const drag = this.drag;
    if (drag && drag.view === view && drag.pointerId === event.pointerId) {
      if (drag.mode === 'crosshair') this.moveCrosshairTo(view, x, y);
      else if (drag.mode === 'pan') {
        model.ports[view] = panBy(volume.frame, axes, drag.startPort, x - drag.x, y - drag.y);
        this.host.invalidate(view);
      } else {
        const w = dragWindow(drag.startWindow, x - drag.x, y - drag.y);
        this.host.setWindow(w.center, w.width);
      }
    }
    this.host.updateReadout();
  }

  private up(event: PointerEvent): void {
    if (this.drag?.pointerId === event.pointerId) this.drag = null;
  }

  private moveCrosshairTo(view: SliceView, x: number, y: number): void {
    const model = this.host.model;
    const volume = model.vol!;
    const port = model.portOf(view)!;
    const axes = model.axes[view];
    const d = screenToDisplay(volume.frame, axes, port, model.crosshair[axes.n], x, y);
    const c = clampDisplayIndex(volume.frame, d);
    model.followLoading = false;
    model.crosshair = [...model.crosshair];
    model.crosshair[axes.h] = c[axes.h];
    model.crosshair[axes.v] = c[axes.v];
    this.host.crosshairMoved();
  }
}
