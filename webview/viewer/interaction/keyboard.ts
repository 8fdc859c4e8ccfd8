// Keys on the active slice view: arrows and Page Up/Down step the slice (shift: ten), + / = / - zoom about the
// centre. Keys reach the viewer when focus is inside it or the pointer is over a view (nothing needs clicking first).

import { InteractionHost, stepSlice, zoomView } from './navigation';

/** What a key does to the active slice view (decided apart from the DOM, so it is testable on its own). */
export type KeyAction = { kind: 'step'; delta: number } | { kind: 'zoom'; factor: number } | null;

export function keyAction(key: string, shift: boolean): KeyAction {
  const big = shift ? 10 : 1;
  switch (key) {
    case 'ArrowUp':
    case 'ArrowRight':
    case 'PageUp':
      return { kind: 'step', delta: big };
    case 'ArrowDown':
    case 'ArrowLeft':
    case 'PageDown':
      return { kind: 'step', delta: -big };
    case '+':
    case '=':
      return { kind: 'zoom', factor: 1.25 };
    case '-':
      return { kind: 'zoom', factor: 1 / 1.25 };
    default:
      return null;
  }
}

export class KeyboardController {
  private readonly listener = (event: KeyboardEvent) => {
    const focusInside = this.host.dom.viewsBox.contains(document.activeElement);
    if (focusInside || this.host.model.hovering) this.key(event);
  };

  constructor(private readonly host: InteractionHost) {
    document.addEventListener('keydown', this.listener);
  }

  dispose(): void {
    document.removeEventListener('keydown', this.listener);
  }

  private key(event: KeyboardEvent): void {
    if (event.target instanceof HTMLInputElement || event.defaultPrevented) return;
    const view = this.host.model.activeView;
    if (view === '3d') return;
    const action = keyAction(event.key, event.shiftKey);
    if (!action) return;
    if (action.kind === 'step') stepSlice(this.host, view, action.delta);
    else {
      // Before a volume (or a view size) there is nothing to zoom, and the key stays the page's.
      if (!this.host.model.portOf(view) || !this.host.model.vol) return;
      zoomView(this.host, view, action.factor);
    }
    event.preventDefault();
  }
}
