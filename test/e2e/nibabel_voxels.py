"""Reference values for the end-to-end tests, read with nibabel (Debian python3-nibabel).

usage: nibabel_voxels.py FILE i,j,k [i,j,k ...]
Prints one JSON object: {"shape": [...], "axcodes": "LAS", "values": [v, ...]} where each value is the scaled voxel
value (stored * scl_slope + scl_inter, as nibabel's ArrayProxy gives it) at file voxel indices i, j, k of frame 0.
"""
import json
import sys

import nibabel as nib


def main(argv):
    img = nib.load(argv[1])
    ijks = [tuple(int(x) for x in a.split(",")) for a in argv[2:]]
    values = []
    for i, j, k in ijks:
        index = (i, j, k) + (0,) * (len(img.shape) - 3)
        values.append(float(img.dataobj[index]))
    print(json.dumps({
        "shape": [int(n) for n in img.shape],
        "axcodes": "".join(nib.aff2axcodes(img.affine)),
        "values": values,
    }))


if __name__ == "__main__":
    main(sys.argv)
