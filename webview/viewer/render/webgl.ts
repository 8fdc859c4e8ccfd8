// The WebGL2 renderer (three.js): slice views sample the volume's 3D texture through one matrix per view
// (screen → display → file voxel → texture), the 3D view ray-marches the same texture (MIP or a simple
// emission–absorption volume render). One WebGL context renders every view into an offscreen canvas and each view
// copies its pixels into its own 2D canvas, so the volume texture exists once on the GPU however many views show it.
//
// Issue 11: the page keeps one copy of the volume (the viewer's voxel array): the texture's storage is allocated
// empty and the slabs are converted through a small scratch array and sent with texSubImage3D in pieces of a few MB
// as they arrive. The MIP and the volume render skip empty space brick by brick (brick-max.ts), the MIP stops once
// a ray is as bright as the window shows, and the 3D view renders coarse (double step, at most half resolution,
// less where that is slow) while the camera moves.

import {
  ClampToEdgeWrapping,
  Data3DTexture,
  DataTexture,
  FloatType,
  GLSL3,
  HalfFloatType,
  LinearFilter,
  LinearSRGBColorSpace,
  Matrix4,
  Mesh,
  NearestFilter,
  OrthographicCamera,
  PerspectiveCamera,
  PlaneGeometry,
  RedFormat,
  RGBAFormat,
  Scene,
  ShaderMaterial,
  BackSide,
  BoxGeometry,
  UnsignedByteType,
  Vector3,
  WebGLRenderer,
} from 'three';
import { multiply4 } from '../../../src/core/nifti/affine';
import type { Mat4 } from '../../../src/core/nifti/types';
import { DisplayFrame, ndcToFileTexMatrix, ndcToOtherTexMatrix, Vec3, ViewAxes, ViewPort } from '../geometry';
import { colormapLUT } from '../../common/colormap';
import type { OverlayLayer } from '../overlay-layer';
import type { ViewerVolume } from '../volume';
import type { WindowLevel } from '../windowing';
import { BRICK } from '../brick-max';
import { allocateTexture, encodeVoxels, TextureEncoding, textureEncoding } from './texture-data';

/**
 * Voxels converted per texSubImage3D call, about: bounds the scratch array (2 MB of half floats). In Chromium
 * with SwiftShader the 200 MB of the big CT block the main thread for about 0.5 s however they are cut from one
 * slice to 16 per call, and longer pieces than that were slower (issue 11).
 */
const UPLOAD_PIECE_VOXELS = 1 << 20;

/**
 * A coarse 3D frame (the camera moves) aims at this many ms, so a drag stays above 10 fps with the pointer's own
 * round trip: its resolution follows the last coarse frame's time, between COARSE_MIN_SCALE and
 * COARSE_MAX_SCALE of the view's (issue 11: SwiftShader took 330 ms a frame on the big CT at half resolution).
 */
const COARSE_FRAME_MS = 40;
const COARSE_MAX_SCALE = 0.5;
const COARSE_MIN_SCALE = 0.125;

export type VolumeRenderMode = 'mip' | 'vr';

const SLICE_VERTEX = /* glsl */ `
uniform mat4 uNdcToTex;
uniform mat4 uNdcToOverlay;
out vec3 vTex;
out vec3 vOverlay;
void main() {
  vec4 p = vec4(position.xy, 0.0, 1.0);
  vTex = (uNdcToTex * p).xyz;
  vOverlay = (uNdcToOverlay * p).xyz;
  gl_Position = p;
}`;

// Shared by both shaders: the overlay colour of a value (LUT index as colormapIndex() computes it on the CPU).
const OVERLAY_GLSL = /* glsl */ `
uniform highp sampler3D uOverlay;
uniform sampler2D uLut;
uniform int uOverlayMode;      // 0 none, 1 stored as R8 labels, 2 stored as R32F values
uniform bool uOverlayLabels;   // colormap 'labels': the LUT index is the value itself
uniform float uOverlayThreshold;
uniform vec2 uOverlayRange;
float overlayValue(vec3 t) {
  if (any(lessThan(t, vec3(0.0))) || any(greaterThanEqual(t, vec3(1.0)))) return -1e30;
  float v = texture(uOverlay, t).r;
  return uOverlayMode == 1 ? floor(v * 255.0 + 0.5) : v;
}
vec4 overlayColor(float v) {
  if (!(v > uOverlayThreshold)) return vec4(0.0);
  float idx;
  if (uOverlayLabels) idx = clamp(floor(v + 0.5), 0.0, 255.0);
  else {
    float span = uOverlayRange.y - uOverlayRange.x;
    idx = floor(clamp(span > 0.0 ? (v - uOverlayRange.x) / span : 1.0, 0.0, 1.0) * 255.0 + 0.5);
  }
  return vec4(texture(uLut, vec2((idx + 0.5) / 256.0, 0.5)).rgb, 1.0);
}`;

const VOLUME_GLSL = /* glsl */ `
uniform highp sampler3D uVolume;
uniform float uGain;
uniform float uOffset;
uniform float uLower;
uniform float uInvWidth;
uniform float uLoadedZ;        // texture z below which slices have arrived (the decoder fills k in order)
bool inVolume(vec3 t) {
  return all(greaterThanEqual(t, vec3(0.0))) && all(lessThan(t, vec3(1.0))) && t.z < uLoadedZ;
}
float volumeValue(vec3 t) { return texture(uVolume, t).r / uGain + uOffset; }`;

const SLICE_FRAGMENT = /* glsl */ `
precision highp float;
${VOLUME_GLSL}
${OVERLAY_GLSL}
uniform float uOverlayOpacity;
in vec3 vTex;
in vec3 vOverlay;
out vec4 outColor;
void main() {
  if (!inVolume(vTex)) { outColor = vec4(0.0, 0.0, 0.0, 1.0); return; }
  vec3 c = vec3(clamp((volumeValue(vTex) - uLower) * uInvWidth, 0.0, 1.0));
  if (uOverlayMode > 0) {
    vec4 o = overlayColor(overlayValue(vOverlay));
    c = mix(c, o.rgb, o.a * uOverlayOpacity);
  }
  outColor = vec4(c, 1.0);
}`;

const RAY_VERTEX = /* glsl */ `
out vec3 vPos;
void main() {
  vPos = position;
  gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0);
}`;

const RAY_FRAGMENT = /* glsl */ `
precision highp float;
${VOLUME_GLSL}
${OVERLAY_GLSL}
uniform float uOverlayOpacity;
uniform mat4 uObjToTex;
uniform mat4 uObjToOverlay;
uniform vec3 uHalf;
uniform float uStepVoxels;     // ray step in voxels (1 full quality, 2 coarse)
uniform vec3 uFileDims;
uniform int uMode;             // 0 MIP, 1 volume render
uniform highp sampler3D uBricks; // per-brick maximum (brick-max.ts), R32F, read with texelFetch
uniform vec3 uTexToBrick;      // texture coordinate → brick coordinate (file dims / brick size)
uniform ivec3 uBrickCount;
in vec3 vPos;
out vec4 outColor;

// The ray-march without an overlay, skipping every brick that cannot change the pixel (see brick-max.ts): for the
// MIP a brick at most as bright as the window's lower edge or the brightest value met so far, for the volume
// render a brick at most the lower edge (zero opacity there). Samples lie on the ray's grid tn + (i + 0.5)·dt
// whether or not bricks were skipped, so the image equals the plain march's. Returns the colour.
vec3 skippingMarch(vec3 ro, vec3 rd, float tn, float tf, float dt) {
  vec3 tro = (uObjToTex * vec4(ro, 1.0)).xyz;
  vec3 trd = (uObjToTex * vec4(rd, 0.0)).xyz;
  vec3 bro = tro * uTexToBrick;
  vec3 brd = trd * uTexToBrick;
  vec3 invAbs = 1.0 / max(abs(brd), vec3(1e-20));
  bool mip = uMode == 0;
  // Every sample lies inside the box, so once all slices are in (the 3D view draws only then) the bounds test
  // is left out of the inner loop (head CT 3D redraw, scratch probe: medians 533/452 → 477/344 ms, noisy).
  bool partial = uLoadedZ < 1.0;
  float upper = uLower + 1.0 / uInvWidth;
  float best = -1e30;
  vec3 acc = vec3(0.0);
  float alpha = 0.0;
  float t = tn;
  for (int guard = 0; guard < 1024; guard++) {
    if (t >= tf) break;
    vec3 bp = bro + brd * t;
    ivec3 b = clamp(ivec3(floor(bp)), ivec3(0), uBrickCount - 1);
    vec3 lo = vec3(b);
    vec3 dist = mix(bp - lo, lo + 1.0 - bp, step(0.0, brd));
    vec3 ta = max(dist, vec3(0.0)) * invAbs;
    float tExit = min(tf, max(t + min(min(ta.x, ta.y), ta.z), t + 0.01 * dt));
    if (texelFetch(uBricks, b, 0).r > (mip ? max(best, uLower) : uLower)) {
      float s = tn + (ceil((t - tn) / dt - 0.5) + 0.5) * dt;
      if (mip) {
        for (int i = 0; i < 4096; i++) {
          if (s >= tExit) break;
          vec3 tc = tro + trd * s;
          s += dt;
          if (partial && !inVolume(tc)) continue;
          best = max(best, volumeValue(tc));
        }
      } else for (int i = 0; i < 4096; i++) {
        if (s >= tExit) break;
        vec3 tc = tro + trd * s;
        s += dt;
        if (partial && !inVolume(tc)) continue;
        // As the plain march below: opacity grows with the windowed value, per mm.
        float w = clamp((volumeValue(tc) - uLower) * uInvWidth, 0.0, 1.0);
        float a = 1.0 - exp(-w * w * 0.35 * dt);
        acc += (1.0 - alpha) * a * mix(vec3(0.55, 0.35, 0.25), vec3(1.0, 0.97, 0.9), w);
        alpha += (1.0 - alpha) * a;
        if (alpha > 0.97) return acc;
      }
      // As bright as the window shows: nothing further along can change the pixel.
      if (mip && best >= upper) break;
    }
    t = tExit;
  }
  return mip ? vec3(clamp((best - uLower) * uInvWidth, 0.0, 1.0)) : acc;
}

void main() {
  vec3 ro = cameraPosition;
  vec3 rd = normalize(vPos - ro);
  vec3 inv = 1.0 / rd;
  vec3 t0 = (-uHalf - ro) * inv;
  vec3 t1 = (uHalf - ro) * inv;
  vec3 tmin = min(t0, t1);
  vec3 tmax = max(t0, t1);
  float tn = max(max(max(tmin.x, tmin.y), tmin.z), 0.0);
  float tf = min(min(tmax.x, tmax.y), tmax.z);
  if (tf <= tn) { outColor = vec4(0.0, 0.0, 0.0, 1.0); return; }
  // One step moves uStepVoxels voxels along the file axis the ray crosses fastest, so no voxel is stepped over
  // and none sampled twice over: a fixed step of the finest spacing oversampled oblique rays and coarse axes
  // (issue 11: the head CT's full redraw 0.60–0.66 s under SwiftShader, about 2× NiiVue's four tiles).
  vec3 voxelsPerMm = abs((uObjToTex * vec4(rd, 0.0)).xyz) * uFileDims;
  float stepMm = uStepVoxels / max(max(voxelsPerMm.x, voxelsPerMm.y), voxelsPerMm.z);
  int n = int(clamp((tf - tn) / stepMm, 1.0, 2048.0));
  float dt = (tf - tn) / float(n);
  if (uOverlayMode == 0) {
    outColor = vec4(skippingMarch(ro, rd, tn, tf, dt), 1.0);
    return;
  }
  float best = -1e30;
  // MIP: label maps are projected (the largest label along the ray, so a mask shows through bone); scalar maps
  // (routing heatmaps, whose coarse grid also covers the air) are read where the ray's brightest voxel is, so the
  // colour belongs to the structure the MIP shows.
  float bestOverlay = -1e30;
  vec3 acc = vec3(0.0);
  float alpha = 0.0;
  for (int i = 0; i < 2048; i++) {
    if (i >= n) break;
    vec3 p = ro + rd * (tn + (float(i) + 0.5) * dt);
    vec3 t = (uObjToTex * vec4(p, 1.0)).xyz;
    if (!inVolume(t)) continue;
    float v = volumeValue(t);
    vec4 o = vec4(0.0);
    float ov = -1e30;
    if (uOverlayMode > 0) {
      ov = overlayValue((uObjToOverlay * vec4(p, 1.0)).xyz);
      o = overlayColor(ov);
    }
    if (uMode == 0) {
      if (uOverlayLabels) bestOverlay = max(bestOverlay, ov);
      if (v > best) {
        best = v;
        if (!uOverlayLabels) bestOverlay = ov;
      }
    } else {
      float s = clamp((v - uLower) * uInvWidth, 0.0, 1.0);
      // Opacity grows with the windowed value; per-mm density so the look does not depend on the step.
      float a = 1.0 - exp(-s * s * 0.35 * dt);
      vec3 col = mix(vec3(0.55, 0.35, 0.25), vec3(1.0, 0.97, 0.9), s);
      // The overlay tints what is rendered; it adds no opacity of its own, so a map that also covers the air
      // (a routing grid) does not wall the volume in.
      if (o.a > 0.0 && s > 0.0) col = mix(col, o.rgb, uOverlayOpacity);
      acc += (1.0 - alpha) * a * col;
      alpha += (1.0 - alpha) * a;
      if (alpha > 0.97) break;
    }
  }
  vec3 c;
  if (uMode == 0) {
    c = vec3(clamp((best - uLower) * uInvWidth, 0.0, 1.0));
    if (uOverlayMode > 0) {
      vec4 o = overlayColor(bestOverlay);
      c = mix(c, o.rgb, o.a * uOverlayOpacity);
    }
  } else {
    c = acc;
  }
  outColor = vec4(c, 1.0);
}`;

function toMatrix4(m: Mat4): Matrix4 {
  // three's Matrix4.set takes row-major arguments, like Mat4.
  return new Matrix4().set(
    m[0]![0]!, m[0]![1]!, m[0]![2]!, m[0]![3]!,
    m[1]![0]!, m[1]![1]!, m[1]![2]!, m[1]![3]!,
    m[2]![0]!, m[2]![1]!, m[2]![2]!, m[2]![3]!,
    m[3]![0]!, m[3]![1]!, m[3]![2]!, m[3]![3]!,
  );
}

/** Box object space of the 3D view (mm along R, A, S, centred on the volume) → display voxel. */
function objectToDisplay(frame: DisplayFrame, size: Vec3): Mat4 {
  const row = (a: 0 | 1 | 2): number[] => {
    const r = [0, 0, 0, size[a] / 2 / frame.spacing[a] - 0.5];
    r[a] = 1 / frame.spacing[a];
    return r;
  };
  return [row(0), row(1), row(2), [0, 0, 0, 1]];
}

/** Voxel coordinates → texture coordinates ((n + 0.5) / dims) of the same grid. */
function toTexture(toVoxel: Mat4, dims: Vec3): Mat4 {
  return toVoxel.map((row, r) => (r < 3 ? row.map((v, c) => v / dims[r]! + (c === 3 ? 0.5 / dims[r]! : 0)) : [...row]));
}

// Samples outside [0, 1) in every direction: "no overlay here" until an overlay sets its real matrix.
const ZERO_MATRIX = new Matrix4().set(0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1);

export interface GpuSliceParams {
  axes: ViewAxes;
  port: ViewPort;
  slice: number;
  window: WindowLevel;
}

export interface GpuVolumeParams {
  camera: PerspectiveCamera;
  mode: VolumeRenderMode;
  window: WindowLevel;
  /**
   * 'coarse' (while the camera moves): twice the ray step and at most half the resolution, less where the last
   * coarse frame took longer than COARSE_FRAME_MS.
   */
  quality?: 'coarse' | 'full';
}

/** Creates the renderer, or returns why WebGL2 cannot be used. */
export function createGpuRenderer(): GpuRenderer | string {
  const canvas = document.createElement('canvas');
  canvas.width = 1;
  canvas.height = 1;
  const context = canvas.getContext('webgl2', { antialias: false, alpha: false, depth: true, preserveDrawingBuffer: false });
  if (!context) return 'WebGL2 is unavailable in this window';
  try {
    return new GpuRenderer(canvas, context);
  } catch (error) {
    return `WebGL2 failed to start: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export class GpuRenderer {
  private readonly renderer: WebGLRenderer;
  private readonly gl: WebGL2RenderingContext;
  private readonly sliceScene = new Scene();
  private readonly sliceCamera = new OrthographicCamera(-1, 1, 1, -1, 0, 1);
  private readonly sliceMaterial: ShaderMaterial;
  private readonly rayScene = new Scene();
  private readonly rayMaterial: ShaderMaterial;
  private rayMesh: Mesh | null = null;
  private volume: ViewerVolume | null = null;
  private volumeTexture: Data3DTexture | null = null;
  /** Slab-sized conversion buffer for uploads (never the whole volume). */
  private scratch: Uint16Array | Float32Array | null = null;
  private encoding: TextureEncoding | null = null;
  /** Slices [pendingStart, pendingEnd) have arrived and are not on the GPU yet (updateSlices). */
  private pendingStart = 0;
  private pendingEnd = 0;
  private brickTexture: Data3DTexture | null = null;
  private bricksStale = false;
  private overlayTexture: Data3DTexture | null = null;
  private overlay: OverlayLayer | null = null;
  private readonly lutTexture: DataTexture;
  private readonly floatLinear: boolean;
  private lost = false;
  /** Resolution of coarse 3D frames, as a fraction of the view's (adapted to COARSE_FRAME_MS). */
  private coarseScale = COARSE_MAX_SCALE;
  onContextLost: (() => void) | null = null;

  constructor(
    readonly canvas: HTMLCanvasElement,
    context: WebGL2RenderingContext,
  ) {
    this.gl = context;
    this.renderer = new WebGLRenderer({ canvas, context, antialias: false });
    this.renderer.setPixelRatio(1);
    this.renderer.outputColorSpace = LinearSRGBColorSpace;
    this.renderer.autoClear = true;
    this.renderer.setClearColor(0x000000, 1);
    this.floatLinear = this.renderer.extensions.has('OES_texture_float_linear');
    canvas.addEventListener('webglcontextlost', (event) => {
      event.preventDefault();
      this.lost = true;
      this.onContextLost?.();
    });

    this.lutTexture = new DataTexture(new Uint8Array(256 * 4), 256, 1, RGBAFormat, UnsignedByteType);
    this.lutTexture.magFilter = NearestFilter;
    this.lutTexture.minFilter = NearestFilter;
    this.lutTexture.needsUpdate = true;

    const common = () => ({
      uVolume: { value: null as Data3DTexture | null },
      uGain: { value: 1 },
      uOffset: { value: 0 },
      uLower: { value: 0 },
      uInvWidth: { value: 1 },
      uLoadedZ: { value: 0 },
      uOverlay: { value: null as Data3DTexture | null },
      uLut: { value: this.lutTexture },
      uOverlayMode: { value: 0 },
      uOverlayLabels: { value: false },
      uOverlayThreshold: { value: 0 },
      uOverlayRange: { value: [0, 1] },
      uOverlayOpacity: { value: 0.5 },
    });
    this.sliceMaterial = new ShaderMaterial({
      glslVersion: GLSL3,
      vertexShader: SLICE_VERTEX,
      fragmentShader: SLICE_FRAGMENT,
      uniforms: { ...common(), uNdcToTex: { value: new Matrix4() }, uNdcToOverlay: { value: ZERO_MATRIX.clone() } },
      depthTest: false,
      depthWrite: false,
    });
    const quad = new Mesh(new PlaneGeometry(2, 2), this.sliceMaterial);
    quad.frustumCulled = false;
    this.sliceScene.add(quad);

    this.rayMaterial = new ShaderMaterial({
      glslVersion: GLSL3,
      vertexShader: RAY_VERTEX,
      fragmentShader: RAY_FRAGMENT,
      uniforms: {
        ...common(),
        uObjToTex: { value: new Matrix4() },
        uObjToOverlay: { value: ZERO_MATRIX.clone() },
        uHalf: { value: new Vector3(1, 1, 1) },
        uStepVoxels: { value: 1 },
        uFileDims: { value: new Vector3(1, 1, 1) },
        uMode: { value: 0 },
        uBricks: { value: null as Data3DTexture | null },
        uTexToBrick: { value: new Vector3(1, 1, 1) },
        uBrickCount: { value: [1, 1, 1] },
      },
      side: BackSide,
      depthTest: false,
      depthWrite: false,
    });
    this.compileShaders();
  }

  /**
   * Compiles both programs now, before any volume arrives: compiling at the first paint cost SwiftShader a few
   * hundred milliseconds of the time to the first slice (issue 11).
   */
  private compileShaders(): void {
    const box = new Mesh(new BoxGeometry(1, 1, 1), this.rayMaterial);
    this.rayScene.add(box);
    const camera = new PerspectiveCamera();
    this.renderer.compile(this.sliceScene, this.sliceCamera);
    this.renderer.compile(this.rayScene, camera);
    this.rayScene.remove(box);
    box.geometry.dispose();
  }

  get contextLost(): boolean {
    return this.lost;
  }

  /** Largest 3D texture edge the GPU accepts. */
  get max3DTextureSize(): number {
    return this.gl.getParameter(this.gl.MAX_3D_TEXTURE_SIZE) as number;
  }

  setVolume(volume: ViewerVolume): void {
    this.disposeVolume();
    const [nx, ny, nz] = volume.header.dims;
    const max = this.max3DTextureSize;
    if (nx > max || ny > max || nz > max) {
      throw new RangeError(`the volume (${nx}×${ny}×${nz}) exceeds this GPU's 3D texture limit of ${max}`);
    }
    this.volume = volume;
    this.encoding = textureEncoding(volume.header.datatype, volume.slope, volume.inter);
    // Storage only (texStorage3D): three.js uploads nothing, slabs are sent as they arrive (updateSlices).
    const tex = new Data3DTexture(null, nx, ny, nz);
    tex.source.dataReady = false;
    tex.format = RedFormat;
    const half = this.encoding.format === 'r16f';
    tex.type = half ? HalfFloatType : FloatType;
    tex.internalFormat = half ? 'R16F' : 'R32F';
    const linear = half || this.floatLinear;
    tex.minFilter = linear ? LinearFilter : NearestFilter;
    tex.magFilter = linear ? LinearFilter : NearestFilter;
    tex.wrapS = tex.wrapT = tex.wrapR = ClampToEdgeWrapping;
    tex.unpackAlignment = 1;
    tex.generateMipmaps = false;
    tex.needsUpdate = true;
    this.volumeTexture = tex;
    this.renderer.initTexture(tex);
    for (const m of [this.sliceMaterial, this.rayMaterial]) {
      m.uniforms.uVolume!.value = tex;
      m.uniforms.uGain!.value = this.encoding.gain;
      m.uniforms.uOffset!.value = this.encoding.offset;
    }
    const [bx, by, bz] = volume.bricks.counts;
    const bricks = new Data3DTexture(new Float32Array(bx * by * bz), bx, by, bz);
    bricks.format = RedFormat;
    bricks.type = FloatType;
    bricks.internalFormat = 'R32F';
    bricks.minFilter = bricks.magFilter = NearestFilter;
    bricks.unpackAlignment = 1;
    bricks.generateMipmaps = false;
    this.brickTexture = bricks;
    this.bricksStale = true;
    this.rayMaterial.uniforms.uBricks!.value = bricks;
    (this.rayMaterial.uniforms.uTexToBrick!.value as Vector3).set(nx / BRICK, ny / BRICK, nz / BRICK);
    (this.rayMaterial.uniforms.uFileDims!.value as Vector3).set(nx, ny, nz);
    this.rayMaterial.uniforms.uBrickCount!.value = [bx, by, bz];
    // Slices that arrived before the renderer existed, in contiguous runs.
    for (let k = 0; k < nz; ) {
      if (!volume.isLoaded(k)) {
        k++;
        continue;
      }
      let end = k + 1;
      while (end < nz && volume.isLoaded(end)) end++;
      this.updateSlices(k, end);
      k = end;
    }

    const { dims, spacing } = volume.frame;
    const size = [0, 1, 2].map((a) => dims[a]! * spacing[a]!) as Vec3;
    this.rayMesh = new Mesh(new BoxGeometry(size[0], size[1], size[2]), this.rayMaterial);
    this.rayMesh.frustumCulled = false;
    this.rayScene.add(this.rayMesh);
    (this.rayMaterial.uniforms.uHalf!.value as Vector3).set(size[0] / 2, size[1] / 2, size[2] / 2);
    this.rayMaterial.uniforms.uObjToTex!.value = toMatrix4(
      toTexture(multiply4(volume.frame.displayToFile, objectToDisplay(volume.frame, size)), volume.frame.fileDims),
    );
  }

  /**
   * Call after the viewer's volume received slices [kStart, kEnd). They are converted and uploaded in pieces of
   * about UPLOAD_PIECE_VOXELS (the decoder reports slices one or two at a time; WebGL does not draw them before
   * the volume is complete, painter.ts), and whatever is left before the next WebGL draw or in uploadsDone().
   */
  updateSlices(kStart: number, kEnd: number): void {
    if (!this.volume) return;
    if (this.pendingEnd > this.pendingStart && kStart !== this.pendingEnd) this.flushUploads();
    if (this.pendingEnd === this.pendingStart) this.pendingStart = kStart;
    this.pendingEnd = kEnd;
    if ((this.pendingEnd - this.pendingStart) * this.volume.sliceLength >= UPLOAD_PIECE_VOXELS) this.flushUploads();
    this.bricksStale = true;
  }

  /** Uploads the slices that updateSlices has held back. */
  private flushUploads(): void {
    const kStart = this.pendingStart;
    const kEnd = this.pendingEnd;
    this.pendingStart = this.pendingEnd = 0;
    if (kEnd > kStart) this.upload(kStart, kEnd);
  }

  /** Converts slices [kStart, kEnd) and sends them to the texture, piece by piece. */
  private upload(kStart: number, kEnd: number): void {
    const volume = this.volume;
    const tex = this.volumeTexture;
    if (!volume || !tex || this.lost) return;
    const uploaded = (this.renderer.properties.get(tex) as { __webglTexture?: WebGLTexture }).__webglTexture;
    if (!uploaded) return;
    const gl = this.gl;
    const [nx, ny] = volume.header.dims;
    const n = volume.sliceLength;
    const enc = this.encoding!;
    const data = volume.data;
    this.renderer.state.bindTexture(gl.TEXTURE_3D, uploaded);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    const type = enc.format === 'r16f' ? gl.HALF_FLOAT : gl.FLOAT;
    const direct = data instanceof Float32Array && enc.format === 'r32f' && volume.slope === 1 && volume.inter === 0;
    const perPiece = Math.max(1, Math.floor(UPLOAD_PIECE_VOXELS / n));
    for (let k = kStart; k < kEnd; k += perPiece) {
      const k1 = Math.min(kEnd, k + perPiece);
      let pixels: Uint16Array | Float32Array;
      if (direct) pixels = (data as Float32Array).subarray(k * n, k1 * n);
      else {
        const length = (k1 - k) * n;
        if (!this.scratch || this.scratch.length < length) this.scratch = allocateTexture(enc, Math.min(perPiece, kEnd - kStart) * n);
        encodeVoxels(data, k * n, k1 * n, this.scratch, enc, volume.slope, volume.inter, 0);
        pixels = this.scratch.subarray(0, length);
      }
      gl.texSubImage3D(gl.TEXTURE_3D, 0, 0, 0, k, nx, ny, k1 - k, gl.RED, type, pixels);
    }
  }

  /** Uploads what is held back and frees the upload scratch array (call when the last slab has arrived). */
  uploadsDone(): void {
    this.flushUploads();
    this.scratch = null;
  }

  setOverlay(layer: OverlayLayer | null): void {
    if (this.overlay?.overlay !== layer?.overlay) {
      this.overlayTexture?.dispose();
      this.overlayTexture = null;
      if (layer) {
        const [nx, ny, nz] = layer.overlay.dims;
        const label = layer.overlay.data instanceof Uint8Array;
        const data = label ? layer.overlay.data : Float32Array.from(layer.overlay.data);
        const tex = new Data3DTexture(data, nx, ny, nz);
        tex.format = RedFormat;
        tex.type = label ? UnsignedByteType : FloatType;
        tex.internalFormat = label ? 'R8' : 'R32F';
        const linear = layer.interpolate && (label || this.floatLinear);
        tex.minFilter = tex.magFilter = linear ? LinearFilter : NearestFilter;
        tex.unpackAlignment = 1;
        tex.generateMipmaps = false;
        tex.needsUpdate = true;
        this.overlayTexture = tex;
      }
    }
    this.overlay = layer;
    if (layer) {
      this.lutTexture.image.data!.set(colormapLUT(layer.style.colormap));
      this.lutTexture.needsUpdate = true;
    }
    for (const m of [this.sliceMaterial, this.rayMaterial]) {
      const u = m.uniforms;
      u.uOverlay!.value = this.overlayTexture;
      u.uOverlayMode!.value = layer ? (layer.overlay.data instanceof Uint8Array ? 1 : 2) : 0;
      if (layer) {
        u.uOverlayLabels!.value = layer.style.colormap === 'labels';
        u.uOverlayThreshold!.value = layer.style.threshold;
        u.uOverlayRange!.value = [...layer.style.range];
        u.uOverlayOpacity!.value = layer.style.opacity;
      }
    }
    if (layer && this.volume && this.rayMesh) {
      const size = this.boxSize!;
      this.rayMaterial.uniforms.uObjToOverlay!.value = toMatrix4(
        toTexture(multiply4(layer.displayToOverlay, objectToDisplay(this.volume.frame, size)), layer.overlay.dims),
      );
    }
  }

  private setWindow(m: ShaderMaterial, w: WindowLevel): void {
    m.uniforms.uLower!.value = w.center - w.width / 2;
    m.uniforms.uInvWidth!.value = 1 / w.width;
    m.uniforms.uLoadedZ!.value = this.volume ? this.volume.contiguous / this.volume.nk : 0;
  }

  private prepareTarget(width: number, height: number): void {
    if (this.canvas.width < width || this.canvas.height < height) {
      this.renderer.setSize(Math.max(this.canvas.width, width), Math.max(this.canvas.height, height), false);
    }
    this.renderer.setViewport(0, 0, width, height);
    this.renderer.setScissor(0, 0, width, height);
    this.renderer.setScissorTest(true);
  }

  /** Copies the rendered bottom-left width×height region into a view's 2D canvas. */
  private present(ctx: CanvasRenderingContext2D, width: number, height: number): void {
    ctx.drawImage(this.canvas, 0, this.canvas.height - height, width, height, 0, 0, width, height);
  }

  /** Renders a slice view into `ctx` (device pixels width×height; port in CSS pixels). */
  renderSlice(ctx: CanvasRenderingContext2D, width: number, height: number, p: GpuSliceParams): void {
    if (!this.volume || this.lost) return;
    this.flushUploads();
    const frame = this.volume.frame;
    const u = this.sliceMaterial.uniforms;
    (u.uNdcToTex!.value as Matrix4).copy(toMatrix4(ndcToFileTexMatrix(frame, p.axes, p.port, p.slice)));
    if (this.overlay) {
      const o = this.overlay.overlay;
      (u.uNdcToOverlay!.value as Matrix4).copy(
        toMatrix4(ndcToOtherTexMatrix(frame, p.axes, p.port, p.slice, o.affine, o.dims)),
      );
    }
    this.setWindow(this.sliceMaterial, p.window);
    this.prepareTarget(width, height);
    this.renderer.render(this.sliceScene, this.sliceCamera);
    this.present(ctx, width, height);
  }

  renderVolume(ctx: CanvasRenderingContext2D, width: number, height: number, p: GpuVolumeParams): void {
    if (!this.volume || this.lost || !this.rayMesh) return;
    this.flushUploads();
    if (this.bricksStale && this.brickTexture) {
      (this.brickTexture.image.data as Float32Array).set(this.volume.bricks.dilated());
      this.brickTexture.needsUpdate = true;
      this.bricksStale = false;
    }
    const coarse = p.quality === 'coarse';
    const u = this.rayMaterial.uniforms;
    u.uMode!.value = p.mode === 'mip' ? 0 : 1;
    u.uStepVoxels!.value = coarse ? 2 : 1;
    this.setWindow(this.rayMaterial, p.window);
    const scale = coarse ? this.coarseScale : 1;
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const t0 = performance.now();
    this.prepareTarget(w, h);
    this.renderer.render(this.rayScene, p.camera);
    ctx.imageSmoothingEnabled = true;
    // The copy reads the pixels back, so it waits for the ray-march: t1 - t0 is the frame's real cost.
    ctx.drawImage(this.canvas, 0, this.canvas.height - h, w, h, 0, 0, width, height);
    if (coarse) {
      // Cost grows with the pixel count, so the edge scales with the square root of the time ratio.
      const ms = Math.max(1, performance.now() - t0);
      this.coarseScale = Math.min(COARSE_MAX_SCALE, Math.max(COARSE_MIN_SCALE, scale * Math.sqrt(COARSE_FRAME_MS / ms)));
    }
  }

  /** Physical size of the volume box (mm along R, A, S), for placing the 3D camera. */
  get boxSize(): Vec3 | null {
    if (!this.rayMesh) return null;
    const h = this.rayMaterial.uniforms.uHalf!.value as Vector3;
    return [h.x * 2, h.y * 2, h.z * 2];
  }

  /** Whether `volume` is the one on the GPU (setVolume). */
  holds(volume: ViewerVolume): boolean {
    return this.volume === volume;
  }

  /** Frees the volume's textures; nothing is drawn until setVolume. */
  releaseVolume(): void {
    this.disposeVolume();
  }

  private disposeVolume(): void {
    this.volumeTexture?.dispose();
    this.volumeTexture = null;
    this.scratch = null;
    this.pendingStart = this.pendingEnd = 0;
    this.brickTexture?.dispose();
    this.brickTexture = null;
    if (this.rayMesh) {
      this.rayScene.remove(this.rayMesh);
      this.rayMesh.geometry.dispose();
      this.rayMesh = null;
    }
    this.volume = null;
  }

  dispose(): void {
    this.disposeVolume();
    this.overlayTexture?.dispose();
    this.lutTexture.dispose();
    this.sliceMaterial.dispose();
    this.rayMaterial.dispose();
    this.renderer.dispose();
  }
}
