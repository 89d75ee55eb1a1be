"""Run every benchmark (``tox -e bench``)."""

import sys

from tests.benchmarks import bench_detection


def main(argv=None):
    return bench_detection.main(argv)


if __name__ == '__main__':
    sys.exit(main())
