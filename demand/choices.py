"""Enumerations of the demand app."""

from __future__ import annotations

from django.db import models


class Pattern(models.TextChoices):
    """Syntetos-Boylan demand pattern, as classified by the forecasting engine."""

    SMOOTH = "smooth", "Smooth"
    ERRATIC = "erratic", "Erratic"
    INTERMITTENT = "intermittent", "Intermittent"
    LUMPY = "lumpy", "Lumpy"


class Uncertainty(models.TextChoices):
    """How the forecasting engine estimated a series' uncertainty."""

    BACKTEST = "backtest", "From the backtest errors"
    INTERMITTENT = "intermittent", "From the sales process: how often and how much"
    NORMAL = "normal", "Normal guess: history too short to backtest"


class OverrideLevel(models.TextChoices):
    FAMILY = "family", "Family"
    PRODUCT = "product", "SKU"


class OverrideKind(models.TextChoices):
    ABSOLUTE = "absolute", "Absolute quantity"
    PERCENT = "percent", "Percent of statistical forecast"


class ReasonCode(models.TextChoices):
    PROMOTION = "promotion", "Promotion"
    NEW_CUSTOMER = "new_customer", "New customer"
    LOST_CUSTOMER = "lost_customer", "Lost customer"
    PRICE_CHANGE = "price_change", "Price change"
    MARKET_INTELLIGENCE = "market_intelligence", "Market intelligence"
    OTHER = "other", "Other"


class ExceptionFilter(models.TextChoices):
    """Exception filters of the demand review page."""

    LARGE_BIAS = "bias", "Large bias"
    LARGE_CHANGE = "change", "Large change vs last cycle's plan"
    LOW_ACCURACY = "accuracy", "Low accuracy"
    OUTSIDE_HISTORY = "outside_history", "Override far outside sales history (confirmed)"


class GridLayer(models.TextChoices):
    """What the cells of the family grid show."""

    STATISTICAL = "statistical", "Statistical"
    OVERRIDE = "override", "Override"
    CONSENSUS = "consensus", "Consensus"
    STREAM = "stream", "Input stream"


class GridSort(models.TextChoices):
    """Orders of the family grid's rows, the largest first."""

    VOLUME = "volume", "Volume (horizon total)"
    ERROR = "error", "Forecast error (WAPE of past plans)"
    CHANGE = "change", "Change vs last cycle's plan"
