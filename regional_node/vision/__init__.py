"""Factory vision: inspection, privacy masking, progress from cameras (the node's side; the
models and image code are `vision_ml`)."""

# Sets OpenCV's own pixel limit before any module here imports cv2 (`vision_ml.__init__`).
import vision_ml  # noqa: F401
