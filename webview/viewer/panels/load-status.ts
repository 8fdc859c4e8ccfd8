// How far the volume has come, on the page: the root's data-state (loading → ready, or error; contract C3, which the
// tests and the benchmark wait on), the progress bar and the error in place of the views.

import type { ViewerDom } from '../dom';
import type { ViewerVolume } from '../volume';

type Progress = HTMLElement & { value?: number; max: number };

export class LoadStatus {
  constructor(private readonly dom: ViewerDom) {}

  loading(volume: ViewerVolume): void {
    const root = this.dom.root;
    root.dataset.state = 'loading';
    root.dataset.dims = volume.header.dims.join(',');
    delete root.dataset.firstPaint;
    this.dom.error.hidden = true;
    const progress = this.dom.progress as Progress;
    progress.hidden = false;
    progress.max = volume.nk;
    progress.value = 0;
  }

  progress(loadedSlices: number): void {
    (this.dom.progress as Progress).value = loadedSlices;
  }

  ready(): void {
    this.dom.progress.hidden = true;
    this.dom.root.dataset.state = 'ready';
  }

  error(message: string): void {
    this.dom.root.dataset.state = 'error';
    this.dom.error.textContent = message;
    this.dom.error.hidden = false;
    this.dom.progress.hidden = true;
  }
}
