#!/usr/bin/env python3
"""Reference values for single DICOM files, from pydicom (+ gdcm for compressed data): for each file, frame 0's
Modality-LUT output (RescaleSlope/Intercept applied) as float64 in OUT/<n>.f64, and one JSON line per file with
its shape and transfer syntax, or the error pydicom gave.

    python3 pydicom_pixels.py OUT FILE...
"""
import json
import os
import sys

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut

out = sys.argv[1]
rows = []
for n, path in enumerate(sys.argv[2:]):
    try:
        ds = pydicom.dcmread(path, force=True)
        arr = ds.pixel_array
        if int(getattr(ds, 'NumberOfFrames', 1) or 1) > 1:
            arr = arr[0]
        hu = apply_modality_lut(arr, ds).astype(np.float64)
        hu.tofile(os.path.join(out, f'{n}.f64'))
        ts = ds.file_meta.TransferSyntaxUID if 'TransferSyntaxUID' in getattr(ds, 'file_meta', {}) else ''
        rows.append({'file': path, 'shape': list(hu.shape), 'syntax': str(ts), 'photometric': str(ds.get('PhotometricInterpretation', '')),
                     'samples': int(ds.get('SamplesPerPixel', 1)), 'frames': int(getattr(ds, 'NumberOfFrames', 1) or 1),
                     'bits': int(ds.get('BitsAllocated', 0))})
    except Exception as e:  # noqa: BLE001 - the test wants pydicom's reason
        rows.append({'file': path, 'error': f'{type(e).__name__}: {e}'})
print(json.dumps(rows))
