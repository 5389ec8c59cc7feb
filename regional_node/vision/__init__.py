"""Factory vision: inspection, privacy masking, progress from cameras."""

import os

# OpenCV refuses to decode images larger than this (its default is 2^30 pixels, gigabytes of
# memory): a small compressed file can declare a huge image. Uploads are checked tighter still
# where the format's header says its size (`engine.ImageRejected`).
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(100_000_000))
