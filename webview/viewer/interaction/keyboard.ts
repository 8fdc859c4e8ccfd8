// Keys on the active slice view: arrows and Page Up/Down step the slice (shift: ten), + / = / - zoom about the
// centre. Keys reach the viewer when focus is inside it or the pointer is over a view (nothing needs clicking first).

import { InteractionHost, stepSlice, zoomView } from './navigation';

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
    const big = event.shiftKey ? 10 : 1;
    switch (event.key) {
      case 'ArrowUp':
      case 'ArrowRight':
      case 'PageUp':
        stepSlice(this.host, view, big);
        break;
      case 'ArrowDown':
      case 'ArrowLeft':
      case 'PageDown':
        stepSlice(this.host, view, -big);
        break;
      case '+':
      case '=':
      case '-':
        if (!this.host.model.portOf(view) || !this.host.model.vol) return;
        zoomView(this.host, view, event.key === '-' ? 1 / 1.25 : 1.25);
        break;
      default:
        return;
    }
    event.preventDefault();
  }
}
