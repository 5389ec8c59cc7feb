"""Demand forecasting for C2M: per-SKU probabilistic forecasts chosen by cross-validation,
reconciled across a hierarchy, with the Chinese retail calendar as regressors.

A library beside `vision_ml` and `solvers`: the regional node calls it; it imports no app.
"""

from demand_forecast.accuracy import Accuracy, accuracy, interval_columns, quantile_column
from demand_forecast.calendar import HOLIDAY_COLUMNS, holiday_flags, spring_festival
from demand_forecast.classification import DemandClass, classify_demand
from demand_forecast.forecaster import Forecast, Settings, forecast, forecast_with
from demand_forecast.history import HistoryError
from demand_forecast.models import default_season_length
from demand_forecast.reconcile import Hierarchy

__all__ = [
    "HOLIDAY_COLUMNS",
    "Accuracy",
    "DemandClass",
    "Forecast",
    "Hierarchy",
    "HistoryError",
    "Settings",
    "accuracy",
    "classify_demand",
    "default_season_length",
    "forecast",
    "forecast_with",
    "holiday_flags",
    "interval_columns",
    "quantile_column",
    "spring_festival",
]
