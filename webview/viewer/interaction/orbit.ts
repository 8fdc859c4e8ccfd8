// The 3D view's camera and its OrbitControls (drag to rotate, wheel to zoom, right drag to pan). Camera moves go to
// the render loop, which draws coarse frames while the camera moves and a full-quality one when it rests.

import { PerspectiveCamera } from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';

export interface OrbitHooks {
  started(): void;
  ended(): void;
  moved(): void;
}

export class Orbit {
  camera: PerspectiveCamera | null = null;
  private controls: OrbitControls | null = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly hooks: OrbitHooks,
  ) {}

  /** Faces the volume's box (its size in mm, from the GPU renderer) from the front, the whole box in view. */
  reset(box: readonly [number, number, number] | null | undefined): void {
    if (!box) return;
    const radius = Math.hypot(...box) / 2;
    if (!this.camera) this.camera = new PerspectiveCamera(30, 1, 1, 100000);
    this.camera.near = radius / 50;
    this.camera.far = radius * 20;
    // Facing the patient from the front (anterior), head up: the patient's right on the screen's left.
    this.camera.up.set(0, 0, 1);
    this.camera.position.set(0, (radius / Math.tan((15 * Math.PI) / 180)) * 0.85, 0);
    this.camera.lookAt(0, 0, 0);
    if (!this.controls) {
      this.controls = new OrbitControls(this.camera, this.canvas);
      this.controls.addEventListener('start', () => this.hooks.started());
      this.controls.addEventListener('end', () => this.hooks.ended());
      this.controls.addEventListener('change', () => this.hooks.moved());
    }
    this.controls.target.set(0, 0, 0);
    this.controls.update();
  }

  /** No 3D view any more (the CPU renderer): the canvas takes no orbit input. */
  detach(): void {
    this.controls?.dispose();
    this.controls = null;
  }
}
