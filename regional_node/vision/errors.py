"""The vision domain's refusals (stations, models, quality records, images, training), each with a
stable code."""

from __future__ import annotations

from yunfab.errors import Conflict, InvalidInput, NotFound, ServiceUnavailable


class StationNotFound(NotFound):
    code = "station_not_found"


class VisionModelNotFound(NotFound):
    code = "vision_model_not_found"


class QualityRecordNotFound(NotFound):
    code = "quality_record_not_found"


class NoActiveModel(Conflict):
    code = "no_active_model"


class VisionModelDisabled(Conflict):
    code = "vision_model_disabled"


class NothingToRollBack(Conflict):
    code = "nothing_to_roll_back"


class NoWorkOrder(Conflict):
    code = "no_work_order"


class TrainingTooLarge(InvalidInput):
    code = "training_too_large"


class ImageRejected(InvalidInput):
    code = "invalid_image"


class VisionUnavailable(ServiceUnavailable):
    code = "vision_unavailable"
