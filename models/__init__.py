"""One place that knows which model to load from where (see `models.registry`)."""
