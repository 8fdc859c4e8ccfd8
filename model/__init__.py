"""CT Lens model pipeline: synthetic data, the TGH-MoE 3D MLLM, training, export and evaluation."""
