"""The vision and ML library the node and federated learning share: features, anomaly models,
training, metrics, counting and privacy masking. No database, no app settings."""

import os


def _max_pixels() -> int:
    """The image size limit the node's `vision_max_megapixels` gives, as its settings will read it
    from the environment (50 megapixels when unset or not a number: the settings then refuse it
    themselves). Read here, from the environment, because it must be known before cv2 is."""
    value = os.environ.get("YUNFAB_NODE_VISION_MAX_MEGAPIXELS", "")
    return (int(value) if value.strip().isdigit() else 50) * 1_000_000


# OpenCV refuses to decode images larger than this (its default is 2^30 pixels, gigabytes of
# memory): a second line behind the uploads' own check, which reads every image's size from its
# header and refuses formats whose header is not read (`headers.declared_size`).
# OpenCV reads the variable once, as cv2 is imported: set before any module here imports it.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(_max_pixels()))
