// Which weights a package's graphs run with: the fp32 graphs (onnx/<role>.onnx) or their fp16 variant
// (onnx/<role>_fp16.onnx, transformers.js' naming; made by model/fp16.py). Like transformers.js' `dtype`:
// 'fp32' | 'fp16' | 'auto' — auto is fp16 on WebGPU where the package has the variant (GPUs have fast fp16 and
// the weights take half the memory and bandwidth) and fp32 everywhere else (onnxruntime's CPU provider runs most
// fp16 kernels by converting to fp32, which is slower than fp32 itself).

export type ModelDtype = 'fp32' | 'fp16' | 'auto';
export type GraphDtype = Exclude<ModelDtype, 'auto'>;
export const MODEL_DTYPES: readonly ModelDtype[] = ['auto', 'fp32', 'fp16'];

/** The graphs' dtype for a choice on a provider, given whether the package has the fp16 variant. */
export function resolveDtype(choice: ModelDtype, provider: string, hasFp16: boolean): GraphDtype {
  if (choice === 'auto') return provider === 'webgpu' && hasFp16 ? 'fp16' : 'fp32';
  return choice;
}

/** onnx/vision_encoder.onnx → onnx/vision_encoder_fp16.onnx */
export function fp16GraphPath(fp32Path: string): string {
  return fp32Path.replace(/\.onnx$/, '_fp16.onnx');
}
