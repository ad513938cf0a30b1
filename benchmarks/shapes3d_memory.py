"""Peak memory of training on a 3D Shapes h5 file, against its uint8 size.

Writes a 3dshapes.h5 of ``--images`` procedural images (480,000 = the real
size, about 5.9 GB) into a temporary folder unless ``--h5`` names an existing
file, then runs ``python -m provlae_tf.main`` on it for ``--steps`` steps in a
child process and reports the child's peak resident memory
(``ru_maxrss``). Goal: peak <= 2 x the uint8 image size.

    python benchmarks/shapes3d_memory.py --images=480000
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from provlae_tf.data import shapes3d  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=shapes3d.NUM_IMAGES)
    parser.add_argument("--h5", help="an existing 3dshapes.h5 to use")
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        data_dir = os.path.dirname(args.h5) if args.h5 else workdir
        path = args.h5 or os.path.join(workdir, shapes3d.H5_FILENAME)
        if not args.h5:
            import numpy as np
            shapes3d.write_h5(path, np.arange(args.images))
        import h5py
        with h5py.File(path, "r") as f:
            count = f["images"].shape[0]
        uint8_bytes = count * 64 * 64 * 3
        batch = 100
        command = [sys.executable, "-m", "provlae_tf.main",
                   "--dataset=3dshapes", f"--data_dir={data_dir}",
                   f"--checkpoint_dir={os.path.join(workdir, 'run')}",
                   "--z_dim=3", "--train_seq=1", "--epoch_size=1",
                   f"--batch_size={batch}",
                   f"--max_examples={min(count, args.steps * batch)}"]
        # max_examples keeps the run short; the whole file is still loaded.
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(f"images {count}, uint8 size {uint8_bytes / 2**30:.2f} GiB, "
          f"peak RSS {peak / 2**30:.2f} GiB, ratio {peak / uint8_bytes:.2f} "
          "(goal <= 2)")


if __name__ == "__main__":
    main()
